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
  // The extensions a public CA gives (key usage on the CA, key identifiers
  // on the leaves): Python 3.13+'s create_default_context() verifies with
  // VERIFY_X509_STRICT, which refuses chains without them.
  const selfSigned = (name: string, cn: string) =>
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const signed = (name: string, cn: string, ca: string, san?: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const ext = `${name}.ext`;
    fs.writeFileSync(path.join(dir, ext), `authorityKeyIdentifier=keyid,issuer\nbasicConstraints=CA:FALSE\n${san ? `subjectAltName=${san}\n` : ''}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
  };
  selfSigned('ca', 'nicorn test CA');
  selfSigned('other-ca', 'another CA');
  signed('server', '127.0.0.1', 'ca', 'IP:127.0.0.1,DNS:localhost');
  signed('client', 'client', 'ca');
  signed('rogue', 'rogue', 'other-ca');
  const read = (name: string) => fs.readFileSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, 'combined.pem'), Buffer.concat([read('server.pem'), read('server.key')]));
}
