// Any page that does not exist: a 404 thrown as a response, so the root's error boundary renders it and Remix does
// not log it as a server error (as it does when no route matches at all).
export async function loader() {
  throw new Response('Not found', { status: 404 })
}

export default function NotFound() {
  return null
}
