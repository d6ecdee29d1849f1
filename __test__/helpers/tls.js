'use strict'

// The TLS fixtures in __test__/fixtures (see its README.md): a test CA, a
// server certificate it signed for localhost / 127.0.0.1, and a self-signed
// certificate that no CA vouches for.

const fs = require('fs')
const path = require('path')

const dir = path.join(__dirname, '..', 'fixtures')
const read = (name) => fs.readFileSync(path.join(dir, name))

const ca = read('ca.pem')

// Options for https.createServer / tls.createServer.
const serverCredentials = {
  signed: { cert: read('server-cert.pem'), key: read('server-key.pem') },
  'self-signed': { cert: read('self-signed-cert.pem'), key: read('self-signed-key.pem') }
}

function credentials (name = 'signed') {
  const found = serverCredentials[name]
  if (!found) throw new Error(`no TLS fixture named ${name}`)
  return found
}

module.exports = { ca, credentials }
