import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * What a real API server does with a custom object before storing it, from the CRD's structural
 * `openAPIV3Schema`: prune unknown fields, apply `default`s, and validate, producing the same field
 * errors (`spec.parentRefs: Required value`). CEL rules (`x-kubernetes-validations`) are not evaluated:
 * egressctl's own checks cover the ones it can hit (src/manifests/validate.ts), and Linkerd's webhook
 * rules live in admission.ts.
 */

/** The subset of a structural schema the bundled CRDs use. */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

/** One field error, as in a 422 Status' `details.causes`. */
export interface FieldCause {
  reason: string;
  message: string;
  field: string;
}

/** The folder holding the bundled CRDs: `crds/` at the package root, found from src/ and dist/ alike. */
export function crdDirectory(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'crds');
    if (fs.existsSync(path.join(candidate, 'policy.linkerd.io_egressnetworks.yaml'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error(`egressctl's CRD folder (crds/) is missing above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

interface CrdDocument {
  kind?: string;
  spec?: {
    group: string;
    names: { kind: string };
    versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[];
  };
}

const cache = new Map<string, Map<string, Schema>>();

/** Every served version's schema in the bundled CRDs, keyed `group/version/Kind` (read once per folder). */
export function crdSchemas(dir = crdDirectory()): Map<string, Schema> {
  const cached = cache.get(dir);
  if (cached) return cached;
  const out = new Map<string, Schema>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      const crd = doc.toJS() as CrdDocument | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
      for (const v of crd.spec.versions) {
        const s = v.schema?.openAPIV3Schema;
        if (v.served !== false && s) out.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, s);
      }
    }
  }
  cache.set(dir, out);
  return out;
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The type name the API server quotes in type errors. */
function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const quote = (v: Json): string => JSON.stringify(v);

/**
 * Removes fields the schema does not declare, in place, like the API server's structural pruning, and
 * returns their paths (`.spec.foo`), for a Warning header or a strict-validation error.
 */
export function prune(schema: Schema, value: Json): string[] {
  const unknown: string[] = [];
  const walk = (s: Schema, v: Json, p: string): void => {
    if (isObject(v) && (s.properties || s.additionalProperties)) {
      for (const k of Object.keys(v)) {
        const child =
          s.properties?.[k] ?? (isObject(s.additionalProperties) ? s.additionalProperties : undefined);
        if (child) walk(child, v[k], `${p}.${k}`);
        // metadata is the server's own; preserve-unknown objects keep what they hold.
        else if (
          s.additionalProperties !== true &&
          !s['x-kubernetes-preserve-unknown-fields'] &&
          !(p === '' && k === 'metadata')
        ) {
          unknown.push(`${p}.${k}`);
          delete v[k];
        }
      }
    } else if (Array.isArray(v) && s.items) {
      v.forEach((item, i) => walk(s.items as Schema, item, `${p}[${i}]`));
    }
  };
  walk(schema, value, '');
  return unknown;
}

/** Fills in the schema's `default`s where a field is absent, in place (the API server's defaulting). */
export function applyDefaults(schema: Schema, value: Json): void {
  if (isObject(value)) {
    for (const [k, child] of Object.entries(schema.properties ?? {})) {
      if (value[k] === undefined && child.default !== undefined) value[k] = structuredClone(child.default);
      if (value[k] !== undefined) applyDefaults(child, value[k]);
    }
    if (isObject(schema.additionalProperties))
      for (const [k, v] of Object.entries(value))
        if (!schema.properties?.[k]) applyDefaults(schema.additionalProperties, v);
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(schema.items, item);
  }
}

/** Field errors of `value` against `schema`, worded as kube-apiserver words them. */
export function validateSchema(schema: Schema, value: Json): FieldCause[] {
  const out: FieldCause[] = [];
  const add = (reason: string, field: string, message: string) => out.push({ reason, field, message });
  const walk = (s: Schema, v: Json, field: string): void => {
    if (v === null && s.nullable) return;
    const actual = typeOf(v);
    const okType =
      !s.type ||
      actual === s.type ||
      (s.type === 'number' && actual === 'integer') ||
      (s['x-kubernetes-int-or-string'] === true && (actual === 'integer' || actual === 'string'));
    if (!okType) {
      add(
        'FieldValueTypeInvalid',
        field,
        `Invalid value: "${actual}": ${field} in body must be of type ${s.type}: "${actual}"`,
      );
      return;
    }
    if (s.enum && !s.enum.some((e) => e === v)) {
      add(
        'FieldValueNotSupported',
        field,
        `Unsupported value: ${quote(v)}: supported values: ${s.enum.map(quote).join(', ')}`,
      );
    }
    if (typeof v === 'string') {
      if (s.maxLength !== undefined && [...v].length > s.maxLength)
        add('FieldValueTooLong', field, `Too long: may not be more than ${s.maxLength} bytes`);
      if (s.minLength !== undefined && [...v].length < s.minLength)
        add(
          'FieldValueInvalid',
          field,
          `Invalid value: ${quote(v)}: ${field} in body should be at least ${s.minLength} chars long`,
        );
      if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v))
        add(
          'FieldValueInvalid',
          field,
          `Invalid value: ${quote(v)}: ${field} in body should match '${s.pattern}'`,
        );
    }
    if (typeof v === 'number') {
      if (s.minimum !== undefined && v < s.minimum)
        add(
          'FieldValueInvalid',
          field,
          `Invalid value: ${v}: ${field} in body should be greater than or equal to ${s.minimum}`,
        );
      if (s.maximum !== undefined && v > s.maximum)
        add(
          'FieldValueInvalid',
          field,
          `Invalid value: ${v}: ${field} in body should be less than or equal to ${s.maximum}`,
        );
    }
    if (Array.isArray(v)) {
      if (s.maxItems !== undefined && v.length > s.maxItems)
        add('FieldValueTooMany', field, `Too many: ${v.length}: must have at most ${s.maxItems} items`);
      if (s.minItems !== undefined && v.length < s.minItems)
        add(
          'FieldValueInvalid',
          field,
          `Invalid value: ${v.length}: ${field} in body should have at least ${s.minItems} items`,
        );
      if (s.items) v.forEach((item, i) => walk(s.items as Schema, item, `${field}[${i}]`));
    }
    if (isObject(v)) {
      for (const k of s.required ?? []) {
        if (v[k] === undefined) add('FieldValueRequired', field ? `${field}.${k}` : k, 'Required value');
      }
      for (const [k, child] of Object.entries(v)) {
        const cs =
          s.properties?.[k] ?? (isObject(s.additionalProperties) ? s.additionalProperties : undefined);
        if (cs && !(field === '' && k === 'metadata')) walk(cs, child, field ? `${field}.${k}` : k);
      }
    }
  };
  walk(schema, value, '');
  return out;
}
