import { redirect, type ActionFunctionArgs } from '@remix-run/node'
import { requireCsrf } from '../auth/csrf.server.js'
import { endSession } from '../auth/session.server.js'

// Log-out is a POST (with the CSRF token), so another site cannot sign a member out with a link or an image.
export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  const cookie = await endSession(request, context)
  return redirect('/login?notice=logged-out', { headers: { 'Set-Cookie': cookie } })
}

export async function loader() {
  return redirect('/account')
}
