import { hash, verify } from '@node-rs/argon2'
import { config } from '#app/config/env.server.ts'
import { timeArgon2 } from '#app/observability/metrics.server.ts'

// argon2id (algorithm 2; `Algorithm` is a const enum and cannot be referenced at run time).
// m=19456 KiB, t=2, p=1 is the OWASP baseline. Test runs (GATEHOUSE_FAST_HASH, refused in
// production) use tiny parameters so that hundreds of accounts can be made quickly.
const ARGON2ID = 2
const options = config.fastHash
  ? { algorithm: ARGON2ID, memoryCost: 256, timeCost: 1, parallelism: 1 }
  : { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 }

export function hashPassword(password: string): Promise<string> {
  return timeArgon2('hash', () => hash(password, options))
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await timeArgon2('verify', () => verify(passwordHash, password))
  } catch {
    return false
  }
}

// Verified against when the email is unknown, so both answers take about the same time.
let dummyHash: Promise<string> | undefined
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('gatehouse-timing-equaliser')
  await verifyPassword(await dummyHash, password)
}

// The rules live in the browser-safe password.schema.ts, which the forms show (decision 073).
export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password.schema.ts'
