/** Browser labels from real User-Agent strings (as the browsers send them), parsed by bowser. */
import { describe, expect, it } from 'vitest'
import { browserLabel } from './user-agent.ts'

const UA = {
  iphoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  // Chrome on iOS is WebKit underneath and says "Safari" too: only CriOS tells it apart.
  iphoneChrome: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
  androidChrome: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  firefoxLinux: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0',
  // Edge also says "Chrome/…" and "Safari/…": only "Edg/" tells it apart.
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
  macSafari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
}

describe('browserLabel', () => {
  it.each([
    ['iPhone Safari', UA.iphoneSafari, { browser: 'Safari 17', system: 'iOS 17.4.1', label: 'Safari on iOS' }],
    ['iPhone Chrome (CriOS)', UA.iphoneChrome, { browser: 'Chrome 124', system: 'iOS 17.4', label: 'Chrome on iOS' }],
    ['Android Chrome', UA.androidChrome, { browser: 'Chrome 124', system: 'Android 14', label: 'Chrome on Android' }],
    ['Firefox on Windows', UA.firefoxWindows, { browser: 'Firefox 125', system: 'Windows 10', label: 'Firefox on Windows' }],
    ['Firefox on Linux', UA.firefoxLinux, { browser: 'Firefox 126', system: 'Linux', label: 'Firefox on Linux' }],
    ['Edge on Windows', UA.edge, { browser: 'Edge 124', system: 'Windows 10', label: 'Edge on Windows' }],
    ['Safari on a Mac', UA.macSafari, { browser: 'Safari 17', system: 'macOS Catalina', label: 'Safari on macOS' }],
  ])('%s', (_name, ua, expected) => {
    expect(browserLabel(ua)).toEqual(expected)
  })

  it('a client that is not a browser, or none, gets plain words rather than an empty label', () => {
    const unknown = { browser: 'Unknown browser', system: 'unknown system', label: 'Unknown browser on unknown system' }
    expect(browserLabel('curl/8.5.0')).toEqual(unknown)
    expect(browserLabel(null)).toEqual(unknown)
    expect(browserLabel('')).toEqual(unknown)
  })
})
