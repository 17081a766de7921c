/**
 * Once per run: a template database with every migration applied. Each test file clones it
 * (CREATE DATABASE ... TEMPLATE), which takes milliseconds.
 */
import { randomBytes } from 'node:crypto'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export default async function setup(project: TestProject) {
  const name = `gh_tpl_${process.pid}_${randomBytes(3).toString('hex')}`
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
  await migrate(drizzle(sql), { migrationsFolder: 'db/migrations' })
  await sql.end()
  project.provide('templateDatabase', name)
  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string
  }
}
