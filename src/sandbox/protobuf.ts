/**
 * The little of Kubernetes' protobuf encoding kubectl makes the sandbox speak. kubectl's typed clients
 * send built-in objects as `application/vnd.kubernetes.protobuf` (`kubectl create ns` does): the body is
 * the magic `k8s\0` then a `runtime.Unknown` (apimachinery `pkg/runtime/types.proto`) holding the object.
 * And kubectl fetches `/openapi/v2` only as protobuf (gnostic `openapiv2/OpenAPIv2.proto`), to validate
 * on the client a kind whose PATCH takes no `fieldValidation`. Only the fields those need are read or written.
 */

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Fields = Map<number, (Buffer | number)[]>;

/** The fields of one message: length-delimited values as bytes, varints as numbers. */
function fields(b: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = b[i++];
      if (byte === undefined) throw new Error('truncated protobuf varint');
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < b.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key & 7];
    let value: Buffer | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const n = varint();
      value = b.subarray(i, i + n);
      i += n;
    } else if (wire === 1) {
      value = b.readDoubleLE(i);
      i += 8;
    } else if (wire === 5) {
      value = b.readUInt32LE(i);
      i += 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

const isBytes = (v: Buffer | number): v is Buffer => typeof v !== 'number';
const str = (f: Fields, n: number): string | undefined => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
};
const strings = (f: Fields, n: number): string[] =>
  (f.get(n) ?? []).filter(isBytes).map((v) => v.toString('utf8'));
const map = (f: Fields, n: number): Record<string, string> | undefined => {
  const entries = (f.get(n) ?? []).filter(isBytes).map((e) => fields(e));
  return entries.length
    ? Object.fromEntries(entries.map((e) => [str(e, 1) ?? '', str(e, 2) ?? '']))
    : undefined;
};

/** ObjectMeta (k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto): name, generateName, namespace, labels, annotations. */
function objectMeta(b: Buffer): Record<string, unknown> {
  const f = fields(b);
  const labels = map(f, 11);
  const annotations = map(f, 12);
  return {
    ...(str(f, 1) !== undefined ? { name: str(f, 1) } : {}),
    ...(str(f, 2) !== undefined ? { generateName: str(f, 2) } : {}),
    ...(str(f, 3) !== undefined ? { namespace: str(f, 3) } : {}),
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * A protobuf request body as the JSON object it encodes; only Namespace is decoded (k8s.io/api
 * core/v1/generated.proto: metadata 1, spec 2 with finalizers 1). Other kinds throw: the caller answers
 * 415, and the client retries as JSON where it can.
 */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw new Error('the body does not start with the k8s protobuf magic');
  const unknown = fields(body.subarray(4));
  const typeMeta = fields((unknown.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  const [apiVersion, kind] = [str(typeMeta, 1) ?? '', str(typeMeta, 2) ?? ''];
  if (apiVersion !== 'v1' || kind !== 'Namespace')
    throw new Error(`protobuf bodies of ${apiVersion}/${kind} are not supported: send JSON`);
  const ns = fields((unknown.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  const meta = ns.get(1)?.[0];
  const spec = ns.get(2)?.[0];
  const finalizers = Buffer.isBuffer(spec) ? strings(fields(spec), 1) : [];
  return {
    apiVersion,
    kind,
    metadata: Buffer.isBuffer(meta) ? objectMeta(meta) : {},
    ...(finalizers.length ? { spec: { finalizers } } : {}),
  };
}

const lenField = (n: number, value: Buffer): Buffer => {
  const len: number[] = [];
  let v = value.length;
  do {
    len.push((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>>= 7;
  } while (v > 0);
  return Buffer.concat([Buffer.from([(n << 3) | 2, ...len]), value]);
};

/**
 * An OpenAPI v2 Document with no definitions (swagger 1, info 2 with title 1 and version 2, paths 8):
 * kubectl's client-side validation then knows no kind's schema and leaves validation to the server.
 */
export function emptyOpenApiV2(version: string): Buffer {
  return Buffer.concat([
    lenField(1, Buffer.from('2.0')),
    lenField(2, Buffer.concat([lenField(1, Buffer.from('Kubernetes')), lenField(2, Buffer.from(version))])),
    lenField(8, Buffer.alloc(0)),
  ]);
}
