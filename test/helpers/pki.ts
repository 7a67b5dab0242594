// Certificates for the TLS suites, made with openssl in a temp folder.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes into DIR: a CA (ca.pem/.key), a server certificate for
 * 127.0.0.1/localhost signed by it (server.pem/.key, and both in combined.pem),
 * a client certificate from the CA (client.*) and one from another CA (rogue.*, other-ca.*).
 */
export function makePki(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
  const selfSigned = (name: string, cn: string) =>
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`);
  const signed = (name: string, cn: string, ca: string, ext?: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const extra = ext ? ['-extfile', ext] : [];
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...extra);
  };
  selfSigned('ca', 'nicorn test CA');
  selfSigned('other-ca', 'another CA');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  signed('server', '127.0.0.1', 'ca', 'san.ext');
  signed('client', 'client', 'ca');
  signed('rogue', 'rogue', 'other-ca');
  const read = (name: string) => fs.readFileSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, 'combined.pem'), Buffer.concat([read('server.pem'), read('server.key')]));
}
