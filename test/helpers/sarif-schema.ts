import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';

// Both are CommonJS modules whose typings declare the export as `default`.
const { default: Ajv } = ajvDraft04;
const { default: addFormats } = ajvFormats;

// The official SARIF 2.1.0 schema (rtm.5, JSON Schema draft-04) as Microsoft's
// @microsoft/jest-sarif ships it. unicodeRegExp: false because its language-tag
// pattern has a stray `]` that only the `u` flag rejects.
const schemaFile = createRequire(import.meta.url).resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);

/** The schema violations of a SARIF log, as `path: message` lines; empty when valid. */
export function sarifErrors(log: unknown): string[] {
  return validate(log) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'}: ${error.message ?? ''}`);
}
