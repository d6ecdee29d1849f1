'use strict'

// Reading Node's upgrade and EventSource requests.

// Node's rawHeaders when present; otherwise built from `headers` for request-like
// objects that only carry those.
function rawHeaders (request) {
  if (Array.isArray(request.rawHeaders)) return request.rawHeaders.map(String)
  const flat = []
  const headers = request.headers || {}
  for (const name in headers) {
    for (const value of [].concat(headers[name])) flat.push(name, String(value))
  }
  return flat
}

function isSecureRequest (request) {
  if (request.connection && request.connection.authorized !== undefined) return true
  if (request.socket && request.socket.secure) return true
  const headers = request.headers
  if (!headers) return false
  return headers.https === 'on' ||
    headers['x-forwarded-ssl'] === 'on' ||
    headers['x-forwarded-scheme'] === 'https' ||
    headers['x-forwarded-proto'] === 'https'
}

function determineUrl (request) {
  const scheme = isSecureRequest(request) ? 'wss:' : 'ws:'
  return scheme + '//' + request.headers.host + request.url
}

module.exports = { rawHeaders, isSecureRequest, determineUrl }
