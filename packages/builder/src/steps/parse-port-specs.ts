import { isIP } from 'node:net';

/** The ExposedPorts keys of EXPOSE's words, or why one word is not a port spec. */
export type PortSpecs =
  { readonly ok: true; readonly ports: readonly string[] } | { readonly ok: false; readonly reason: string };

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

/**
 * Parses EXPOSE's words as BuildKit does (docker's `nat.ParsePortSpecs`):
 * `[[IP:]HOST_PORT:]PORT[-END][/PROTO]`, each port 0-65535, the protocol tcp (the default), udp
 * or sctp in any case. A range gives one `PORT/proto` key per port; the IP and host part are
 * checked, then dropped, since an image records no host binding. Keys come in the order first
 * seen, without duplicates. Pure.
 */
export function parsePortSpecs(specs: readonly string[]): PortSpecs {
  const ports = new Set<string>();
  for (const spec of specs) {
    const parsed = parsePortSpec(spec);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    for (const p of parsed) ports.add(p);
  }
  return { ok: true, ports: [...ports] };
}

/** The keys of one spec, or the reason it is invalid (checks in nat.ParsePortSpec's order). */
function parsePortSpec(raw: string): string[] | string {
  const parts = raw.split(':');
  const last = parts[parts.length - 1] ?? '';
  const hostPort = parts.length >= 2 ? (parts[parts.length - 2] ?? '') : '';
  let ip = parts.slice(0, -2).join(':');
  const [proto, containerPort] = splitProtoPort(last);
  if (ip.startsWith('[')) {
    const bracketed = /^\[([^\]]*)\]$/.exec(ip);
    if (!bracketed) return `invalid IP address "${ip}" in port spec "${raw}"`;
    ip = bracketed[1] ?? '';
  }
  if (ip !== '' && isIP(ip) === 0) return `invalid IP address "${ip}" in port spec "${raw}"`;
  if (containerPort === '') return `no port in port spec "${raw}"`;
  const range = parsePortRange(containerPort);
  if (!range) return `invalid port "${containerPort}" (a port 0-65535, or a range LOW-HIGH of them)`;
  const hostRange = hostPort === '' ? undefined : parsePortRange(hostPort);
  if (hostPort !== '' && !hostRange) return `invalid host port "${hostPort}" in port spec "${raw}"`;
  // A host range is allowed against a single port (a range to allocate from), else sizes match.
  if (hostRange && range.end !== range.start && range.end - range.start !== hostRange.end - hostRange.start) {
    return `port range ${containerPort} and host range ${hostPort} differ in size`;
  }
  const protocol = proto.toLowerCase();
  if (!PROTOCOLS.includes(protocol)) return `invalid protocol "${proto}" (tcp, udp or sctp)`;
  const keys: string[] = [];
  for (let port = range.start; port <= range.end; port++) keys.push(`${port}/${protocol}`);
  return keys;
}

/** `PORT/PROTO` → [proto, port]; no protocol (or an empty one) is tcp; text after a second `/` is ignored. */
function splitProtoPort(raw: string): [string, string] {
  const [port = '', proto] = raw.split('/');
  if (port === '') return ['', ''];
  return [proto === undefined || proto === '' ? 'tcp' : proto, port];
}

/** `N` or `N-M` (M ≥ N; text after a second `-` is ignored), decimal 0-65535. */
function parsePortRange(text: string): { start: number; end: number } | undefined {
  const [first = '', second] = text.split('-');
  const start = parsePort(first);
  const end = second === undefined ? start : parsePort(second);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

function parsePort(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}
