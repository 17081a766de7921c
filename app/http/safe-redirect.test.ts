/**
 * The one rule for where sign-in and step-up send someone next (decision 060): only a path on
 * this app's own origin survives; every way a browser could be steered to another site falls
 * back. Inputs are given as they reach the function: a query parameter arrives decoded once
 * (`?redirectTo=/%09/evil.example` gives "/\t/evil.example"), a form field as typed.
 */
import { describe, expect, it } from 'vitest'
import { safeRedirectPath } from './request.server.ts'

const REFUSED: [string, string][] = [
  ['protocol-relative', '//evil.example'],
  ['protocol-relative with a path', '//evil.example/login'],
  ['backslash after the slash', '/\\evil.example'],
  ['two backslashes', '/\\\\evil.example'],
  ['encoded tab, as in the link', '/%09/evil.example'],
  ['encoded tab, decoded by the query string', '/\t/evil.example'],
  ['encoded newline', '/%0a/evil.example'],
  ['encoded newline, decoded', '/\n/evil.example'],
  ['encoded carriage return and newline (header injection)', '/%0d%0aSet-Cookie:%20a=b'],
  ['raw carriage return and newline', '/\r\nSet-Cookie: a=b'],
  ['encoded backslashes', '/%5c%5cevil.example'],
  ['encoded backslashes, upper case', '/%5C%5Cevil.example'],
  ['encoded slash making "//"', '/%2fevil.example'],
  ['encoded NUL', '/%00/evil.example'],
  ['DEL', '/\u007f/evil.example'],
  ['absolute URL', 'https://evil.example'],
  ['absolute URL to our own host spelled out', 'http://evil.example/orgs/acme'],
  ['scheme-relative with credentials', '//user@evil.example'],
  ['javascript: URL', 'javascript:alert(1)'],
  ['data: URL', 'data:text/html,<script>alert(1)</script>'],
  ['no leading slash', 'evil.example'],
  ['leading space', ' /orgs/acme'],
  ['leading tab then slashes', '\t//evil.example'],
  ['malformed percent-encoding', '/%E0%A4%A'],
  ['too long', `/${'a'.repeat(9000)}`],
  ['empty', ''],
]

describe('safeRedirectPath refuses other sites', () => {
  it.each(REFUSED)('%s: %j', (_, target) => {
    expect(safeRedirectPath(target)).toBe('/')
    expect(safeRedirectPath(target, '/settings/security')).toBe('/settings/security')
  })

  it('refuses what is not a string', () => {
    expect(safeRedirectPath(null)).toBe('/')
    expect(safeRedirectPath(undefined, '/settings/security')).toBe('/settings/security')
  })
})

describe('safeRedirectPath keeps paths on this app', () => {
  it.each([
    ['/'],
    ['/orgs/acme/policy?review=us'],
    ['/orgs/acme/members?done=invited#list'],
    ['/settings/security/keys'],
    // The step-up resume address: JSON in the query, percent-encoded.
    [`/orgs/acme/policy?${new URLSearchParams({ resume: JSON.stringify({ intent: 'save', values: { note: 'a\\b\nc' } }) })}`],
    ['/support?q=a%20b%2Fc'],
  ])('%s', (target) => {
    expect(safeRedirectPath(target)).toBe(target)
  })

  it('normalises dot segments, staying on this app', () => {
    expect(safeRedirectPath('/orgs/../settings/security')).toBe('/settings/security')
    expect(safeRedirectPath('/..//evil.example')).toBe('/')
    expect(safeRedirectPath('/./%2e%2e//evil.example')).toBe('/')
  })
})
