/**
 * Full sign-in with an authenticator app over HTTP: password form, then /login/verify with the
 * current code. The TOTP replay guard allows one accepted code per account per 30-second step, so
 * every sign-in uses an account of its own (created here with an app already on).
 */
import { generate } from 'otplib'
import { generateSecret } from 'otplib'
import { encryptSecret } from '#app/auth/crypto.server.ts'
import { db, schema } from '#db/client.ts'
import { atLeast, cpuRow, type Bench } from './bench-types.ts'
import { postForm } from './http-client.ts'

const ACCOUNTS = Number(process.env.BENCH_MFA_ACCOUNTS ?? 4000)

export const bench: Bench = {
  name: 'mfa-sign-in',
  async run({ base, versusArgon2, passwordHash, password }) {
    const secret = generateSecret()
    const emails = Array.from({ length: ACCOUNTS }, (_, i) => `mfa-bench-${i}@bench.test`)
    for (let i = 0; i < emails.length; i += 500) {
      const users = await db
        .insert(schema.users)
        .values(emails.slice(i, i + 500).map((email) => ({ email, name: email, region: 'us', passwordHash, mfaEnabledAt: new Date(), preferredMethod: 'totp' as const })))
        .returning({ id: schema.users.id })
      await db.insert(schema.totpFactors).values(users.map((u) => ({ userId: u.id, ...(({ ciphertext, keyId }) => ({ secretCiphertext: ciphertext, keyId }))(encryptSecret(secret, { column: 'totp_factors.secret_ciphertext', userId: u.id })), confirmedAt: new Date() })))
    }
    let next = 0
    const signInWithTotp = async () => {
      const email = emails[next++]
      if (!email) throw new Error(`mfa bench ran out of accounts (${ACCOUNTS}); raise BENCH_MFA_ACCOUNTS`)
      const login = await postForm(`${base}/login`, { region: 'us', email, password }, { origin: base })
      if (login.location !== '/login/verify') throw new Error(`password step answered ${login.status}`)
      const verify = await postForm(`${base}/login/verify`, { intent: 'totp', code: await generate({ secret }) }, { origin: base, cookie: login.cookies.join('; ') })
      if (verify.status !== 302) throw new Error(`verify step answered ${verify.status}`)
    }
    const measured = await versusArgon2(signInWithTotp)
    const { rate: mfaRate, argon2Rate } = measured
    return [
      { measure: `password + TOTP sign-in over HTTP (one account each, ${next} used)`, now: `${mfaRate.toFixed(1)} /s (argon2id ${argon2Rate.toFixed(1)} /s alongside)` },
      { measure: 'password + TOTP sign-in / argon2id verify rate', now: (mfaRate / argon2Rate).toFixed(3), ...atLeast(mfaRate / argon2Rate, 0.8) },
      ...cpuRow('password + TOTP sign-in', measured),
    ]
  },
}
