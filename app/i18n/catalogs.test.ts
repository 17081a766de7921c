/**
 * The catalogs are complete (decision 079): every key of English is in Japanese and Korean and
 * back again, with the same {{values}}, each language has the plural forms it needs, every key the
 * code asks for exists in English, and no English server message in the catalog has gone stale.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LANGUAGES } from './languages.ts'

const LOCALES = 'app/i18n/locales'
const NAMESPACES = ['pages', 'messages', 'mail'] as const
const PLURAL = /_(zero|one|two|few|many|other)$/

type Catalog = Record<string, unknown>
const catalog = (language: string, ns: string): Catalog => JSON.parse(readFileSync(join(LOCALES, language, `${ns}.json`), 'utf8'))

/** Flat keys; `messages` keys are English sentences (no nesting), the others nest with dots. */
function flatten(value: Catalog, ns: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [key, v] of Object.entries(value)) {
    const path = ns === 'messages' ? key : prefix ? `${prefix}.${key}` : key
    if (v && typeof v === 'object') for (const [k, s] of flatten(v as Catalog, ns, path)) out.set(k, s)
    else out.set(path, String(v))
  }
  return out
}

const flat = (language: string, ns: string) => flatten(catalog(language, ns), ns)
/** A key without its plural suffix: languages differ in which forms they have. */
const base = (key: string) => key.replace(PLURAL, '')
const values = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort()

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'locales' ? [] : sourceFiles(path)
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.test.ts') ? [path] : []
  })
}

describe('the catalogs', () => {
  for (const ns of NAMESPACES) {
    it(`${ns}: every language has every key of English, and nothing else`, () => {
      const en = new Set([...flat('en', ns).keys()].map(base))
      for (const language of LANGUAGES) {
        const keys = new Set([...flat(language, ns).keys()].map(base))
        expect([...en].filter((k) => !keys.has(k)), `${language}/${ns}.json lacks`).toEqual([])
        expect([...keys].filter((k) => !en.has(k)), `${language}/${ns}.json has keys English does not`).toEqual([])
      }
    })

    it(`${ns}: each translation takes the same {{values}} as English, and every plural form its language needs`, () => {
      const en = flat('en', ns)
      const english = new Map([...en].map(([k, v]) => [base(k), values(v)]))
      for (const language of LANGUAGES) {
        const entries = flat(language, ns)
        for (const [key, text] of entries) expect(values(text), `${language}: ${key}`).toEqual(english.get(base(key)))
        const forms = new Intl.PluralRules(language).resolvedOptions().pluralCategories
        const plurals = new Set([...en.keys()].filter((k) => PLURAL.test(k)).map(base))
        for (const key of plurals) for (const form of forms) expect(entries.has(`${key}_${form}`), `${language}: ${key}_${form}`).toBe(true)
      }
    })
  }

  it('every key the code asks for exists in English', () => {
    const pages = flat('en', 'pages')
    const mail = flat('en', 'mail')
    const has = (catalog: Map<string, string>, key: string) => catalog.has(key) || catalog.has(`${key}_one`) || catalog.has(`${key}_other`)
    const missing: string[] = []
    let seen = 0
    for (const file of sourceFiles('app')) {
      const text = readFileSync(file, 'utf8')
      const inMail = file.startsWith(join('app', 'mail'))
      // t('key'), pageTitle(..., 'key') and, in mail, fromCatalog(t, 'name') (its subject and text).
      for (const m of text.matchAll(/\bt\(\s*'([^']+)'/g)) {
        seen++
        if (!has(inMail ? mail : pages, m[1])) missing.push(`${file}: ${m[1]}`)
      }
      for (const m of text.matchAll(/\bpageTitle\([^,]+,\s*'([^']+)'/g)) {
        seen++
        if (!has(pages, m[1])) missing.push(`${file}: ${m[1]}`)
      }
      if (inMail) {
        // fromCatalog(t, 'name', …) reads name.subject and name.text, unless it names its own keys ('name.other').
        for (const m of text.matchAll(/\bfromCatalog\(t,\s*'([^']+)'/g)) {
          seen++
          const own = [...text.matchAll(new RegExp(`'(${m[1]}\\.\\w+)'`, 'g'))].map((k) => k[1])
          for (const key of [`${m[1]}.subject`, ...(own.length ? own : [`${m[1]}.text`])]) if (!has(mail, key)) missing.push(`${file}: ${key}`)
        }
      }
    }
    expect(seen).toBeGreaterThan(100)
    expect(missing).toEqual([])
  })

  it('every English server message in the catalog is still written somewhere in app/', () => {
    const code = sourceFiles('app').map((f) => readFileSync(f, 'utf8')).join('\n')
    const stale = [...flat('en', 'messages').keys()].filter((key) => !code.includes(key.split('{{')[0]))
    expect(stale).toEqual([])
  })
})
