import type http from 'node:http';
import { crdVersionOf } from './discovery.js';
import type { ServedResource } from './resources.js';
import type { StoredObject } from './store.js';

/**
 * Server-side printing, as kube-apiserver does it for custom resources (apiextensions-apiserver
 * `pkg/registry/customresource/tableconvertor`): when the client asks for a meta.k8s.io/v1 Table
 * (`kubectl get` sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), the answer has a NAME
 * column, then the CRD version's `additionalPrinterColumns` (an Age column when it has none), each
 * cell evaluated from its JSONPath, and each row's object as PartialObjectMetadata (so `-A` can add
 * NAMESPACE). Built-in kinds answer JSON, and kubectl prints its default columns.
 */

interface Column {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

const AGE: Column = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

/** True when the Accept header asks for a meta.k8s.io/v1 Table. */
export function wantsTable(req: http.IncomingMessage): boolean {
  return String(req.headers.accept ?? '')
    .split(',')
    .some((a) => {
      const p = a.split(';').map((s) => s.trim());
      return p.includes('as=Table') && p.includes('g=meta.k8s.io') && p.includes('v=v1');
    });
}

/** Whether `r` is printed server-side (a CRD). */
export const tablePrinted = (r: ServedResource): boolean => r.crd === true;

/** `.a.b.c` of an object (the CRDs' printer columns use plain field paths). */
function evaluate(o: unknown, jsonPath: string): unknown {
  let v = o;
  for (const k of jsonPath
    .replace(/^\{?\./, '')
    .replace(/\}$/, '')
    .split('.')
    .filter(Boolean)) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** apimachinery `util/duration.HumanDuration`: the AGE text. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${days / 365}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

/** One cell: dates as an age, strings as the JSONPath printer shows them (arrays and objects as JSON). */
function cell(c: Column, o: StoredObject, now: number): unknown {
  const v = evaluate(o, c.jsonPath);
  if (v === undefined || v === null) return null;
  if (c.type === 'date') return typeof v === 'string' ? humanDuration(now - Date.parse(v)) : null;
  if (c.type === 'string') return typeof v === 'string' ? v : JSON.stringify(v);
  return v;
}

/** The Table of `items` of kind `r` (at the version asked for). */
export function toTable(
  r: ServedResource,
  items: StoredObject[],
  resourceVersion: string,
  now = Date.now(),
): unknown {
  const printer = crdVersionOf(r)?.additionalPrinterColumns;
  const columns: Column[] = printer?.length ? printer : [AGE];
  const name: Column = {
    name: 'Name',
    type: 'string',
    format: 'name',
    jsonPath: '.metadata.name',
    description:
      'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [name, ...columns].map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => {
      const { managedFields: _m, ...metadata } = o.metadata;
      return {
        cells: [o.metadata.name, ...columns.map((c) => cell(c, o, now))],
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata },
      };
    }),
  };
}
