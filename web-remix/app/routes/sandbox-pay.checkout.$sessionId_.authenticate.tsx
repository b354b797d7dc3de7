import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { sandboxReturnUrl } from '../../../activities/payments/sandbox/sandbox-pay.js'
import { amountText, sandboxDocument, sandboxSessionFrom, seeOther } from '../wallet/sandbox-pay-page.server.js'

/** The second step of the 3-D-Secure-like test card: the "bank" asks the member to confirm the payment. */



export async function loader({ params, context }: LoaderFunctionArgs) {
  const { session } = await sandboxSessionFrom(context, params.sessionId)
  if (session.status !== 'requires_action') return seeOther(`/sandbox-pay/checkout/${encodeURIComponent(session.id)}`)
  return sandboxDocument(
    'Confirm your payment',
    <>
      <h1>Confirm your payment</h1>
      <p>
        Your bank asks you to confirm a payment of <strong>{amountText(session.amountCents)}</strong> to perminute.
      </p>
      <p className="testmode">Test mode: choose whether the confirmation succeeds.</p>
      <form method="post">
        <button type="submit" name="decision" value="approve">
          Confirm payment
        </button>
        <button type="submit" name="decision" value="fail" className="secondary">
          Fail the confirmation
        </button>
      </form>
    </>,
  )
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { sandbox, session } = await sandboxSessionFrom(context, params.sessionId)
  const decision = String((await request.formData()).get('decision') ?? '')
  if (decision !== 'approve' && decision !== 'fail') return seeOther(`/sandbox-pay/checkout/${encodeURIComponent(session.id)}/authenticate`)
  const after = await sandbox.authenticate(session.id, decision === 'approve')
  if (after.status === 'succeeded' || after.status === 'declined') sandbox.deliverWebhookInBackground(after.id)
  // Whatever happened (expired meanwhile, a second click), the merchant's return handler asks for the outcome.
  return seeOther(sandboxReturnUrl(after))
}
