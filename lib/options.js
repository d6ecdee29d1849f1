'use strict'

// Option names each class accepts. The server list matches faye-websocket's, which
// shares one list between server and client.
const SERVER_OPTIONS = ['headers', 'extensions', 'maxLength', 'ping', 'proxy', 'tls', 'ca']
// faye documents `net` for the client but rejects it; here it works.
const CLIENT_OPTIONS = SERVER_OPTIONS.concat(['net'])

function validateOptions (options, validKeys) {
  options = options || {}
  for (const key in options) {
    if (validKeys.indexOf(key) < 0) throw new Error('Unrecognized option: ' + key)
  }
  return options
}

// The `headers` option as a flat [name, value, …] list for the native layer.
function flattenHeaders (headers) {
  const flat = []
  if (!headers) return flat
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined) continue
    flat.push(String(name), String(value))
  }
  return flat
}

// faye accepts the protocols as an array or a comma-separated string.
function protocolList (protocols) {
  if (!protocols) return []
  if (typeof protocols === 'string') return protocols.split(/ *, */)
  return [].concat(protocols).map(String)
}

module.exports = { SERVER_OPTIONS, CLIENT_OPTIONS, validateOptions, flattenHeaders, protocolList }
