/** What the logger never writes (decision 067): secrets by field name, secret headers, tokens in URLs. */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, redactUrl } from './logger.server.ts'

function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { logger: createLogger('info', stream), lines }
}

describe('redaction', () => {
  it('passwords, codes and tokens, at the top level and nested, and the secret headers', () => {
    const { logger, lines } = capture()
    logger.info(
      {
        password: 'hunter2-top-level',
        body: { newPassword: 'hunter2-nested', code: '123456', email: 'who@example.test' },
        input: { user: { token: 'tok-two-deep' } },
        req: { method: 'POST', url: '/login', headers: { authorization: 'Bearer ghs_secret', cookie: 'gh_session=abc123', 'user-agent': 'curl' } },
        res: { statusCode: 302, headers: { 'set-cookie': ['gh_session=def456; HttpOnly'] } },
      },
      'signed in',
    )
    const text = lines.join('')
    for (const secret of ['hunter2-top-level', 'hunter2-nested', '123456', 'tok-two-deep', 'ghs_secret', 'abc123', 'def456']) expect(text).not.toContain(secret)
    const line = JSON.parse(text)
    expect(line.req.headers).toEqual({ authorization: '[Redacted]', cookie: '[Redacted]', 'user-agent': 'curl' })
    expect(line.res.headers['set-cookie']).toBe('[Redacted]')
    expect(line.body.email).toBe('who@example.test')
    expect(line.level).toBe('info')
    expect(line.msg).toBe('signed in')
  })

  it('token path segments and secret query values in URLs', () => {
    expect(redactUrl('/reset-password/AbC123tok')).toBe('/reset-password/[Redacted]')
    expect(redactUrl('/invite/tok?x=1')).toBe('/invite/[Redacted]?x=1')
    expect(redactUrl('/login/email/tok')).toBe('/login/email/[Redacted]')
    expect(redactUrl('/freeze/tok')).toBe('/freeze/[Redacted]')
    expect(redactUrl('/login?redirectTo=%2Forgs&code=999999&token=t')).toBe('/login?redirectTo=%2Forgs&code=%5BRedacted%5D&token=%5BRedacted%5D')
    expect(redactUrl('/orgs/acme/members?status=overdue')).toBe('/orgs/acme/members?status=overdue')
  })
})
