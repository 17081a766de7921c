/**
 * Once per run: a template database with every migration applied by the owner role and the grants
 * of the application role in place. Each test file clones it (CREATE DATABASE ... TEMPLATE), which
 * takes milliseconds and keeps the grants, and connects as the application role.
 */
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'
import { migrateDatabase } from '../../db/migrate-database.ts'
import { ADMIN_URL, databaseUrls } from './database-urls.ts'

export default async function setup(project: TestProject) {
  const name = `gh_tpl_${process.pid}_${randomBytes(3).toString('hex')}`
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await migrateDatabase(databaseUrls(name))
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
