import { domainToASCII } from 'node:url';
import { InvalidDomain } from './errors.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The one spelling of a domain we store and compare: lower case, punycode,
 * without scheme, credentials, port, path or trailing dot. Accepts what a
 * person might paste ("https://Acme.Example:443/login", "bücher.example").
 */
export function normaliseDomain(input: string): string {
  const raw = input.trim();
  if (raw === '') throw new InvalidDomain(input, 'it is empty');
  let host = raw;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  host = host.replace(/[/?#].*$/s, '');
  host = host.replace(/^.*@/, '');
  host = host.replace(/:\d*$/, '');
  host = host.replace(/\.$/, '');
  if (host === '') throw new InvalidDomain(input, 'it has no host name');
  if (/[\s/\\]/.test(host)) throw new InvalidDomain(input, 'it contains spaces or slashes');
  const ascii = domainToASCII(host.toLowerCase());
  if (ascii === '') throw new InvalidDomain(input, 'it is not a valid host name');
  const labels = ascii.split('.');
  if (labels.length < 2) throw new InvalidDomain(input, 'it needs at least two labels, like example.com');
  if (ascii.length > 253) throw new InvalidDomain(input, 'it is longer than 253 characters');
  if (!labels.every((label) => LABEL.test(label))) throw new InvalidDomain(input, 'it has an invalid label');
  if (/^\d+$/.test(labels[labels.length - 1])) throw new InvalidDomain(input, 'an IP address is not a domain');
  return ascii;
}
