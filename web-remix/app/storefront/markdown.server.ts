import MarkdownIt from 'markdown-it'
import sanitizeHtml from 'sanitize-html'
import { MAX_BIO_LENGTH } from '../../../activities/companies.js'

/**
 * Operators write their bio in Markdown; it is rendered to HTML on the server and sanitised before any browser sees
 * it (docs/decisions/010-storefront-profiles-and-listing.md). Two independent guards: markdown-it with raw HTML
 * off (a `<script>` in the text comes out as text) and its own link check (no javascript:, vbscript:, data: links),
 * then sanitize-html with a short allow-list of elements, attributes and URL schemes, which would strip anything
 * the first let through. Headings are moved down to h3/h4: the page's own h1 and h2 stay the page's.
 */

const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true })

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ['p', 'br', 'strong', 'em', 'del', 's', 'a', 'ul', 'ol', 'li', 'blockquote', 'code', 'pre', 'h3', 'h4', 'hr'],
  allowedAttributes: { a: ['href', 'title', 'rel'], ol: ['start'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // Text inside discarded elements (script, style, iframe…) is dropped with them.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'object', 'embed', 'template'],
  transformTags: {
    h1: 'h3',
    h2: 'h3',
    h3: 'h4',
    h4: 'h4',
    h5: 'h4',
    h6: 'h4',
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'nofollow ugc noopener noreferrer' } }),
  },
}

export { MAX_BIO_LENGTH }

/** The bio as HTML that is safe to put in the page as it is. */
export function renderBio(source: string): string {
  return sanitizeHtml(markdown.render(source.slice(0, MAX_BIO_LENGTH)), SANITIZE)
}
