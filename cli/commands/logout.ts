import { defineCommand } from '../registry.ts'
import { ApiCallError, URL_OPTION, api, credentialsPath, forgetCredentials, readCredentials, serverUrl } from './_client.ts'

export default defineCommand({
  name: 'logout',
  group: 'client',
  summary: 'end the saved session on the server and delete the saved token',
  options: { url: URL_OPTION },
  async run({ values, print }) {
    const saved = readCredentials()
    if (!saved) {
      print({ ok: true, signedOut: false }, 'You were not signed in.')
      return
    }
    let ended = true
    try {
      await api(typeof values.url === 'string' ? serverUrl(values) : saved.url, '/api/auth/signout', { method: 'POST', token: saved.token, signedOutHint: false })
    } catch (e) {
      // Already expired or ended: the token is useless anyway; forget it all the same.
      if (!(e instanceof ApiCallError && e.failure.status === 401)) throw e
      ended = false
    }
    forgetCredentials()
    print({ ok: true, signedOut: true, sessionEnded: ended }, `Signed out${ended ? '' : ' (the session had already ended)'}; deleted ${credentialsPath()}.`)
  },
})
