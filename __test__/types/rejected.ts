// Misuse the types must catch: each line below has to be a compile error
// (@ts-expect-error fails the compile when it is not).

import WebSocket = require('faye-websocket-native')
import http = require('http')

export function misuse (request: http.IncomingMessage, response: http.ServerResponse, socket: import('stream').Duplex, body: Buffer): void {
  // @ts-expect-error a misspelt option
  new WebSocket(request, socket, body, [], { maxLenght: 10 })
  // @ts-expect-error the server does not take `net`
  new WebSocket(request, socket, body, [], { net: {} })
  // @ts-expect-error a URL must be a string
  new WebSocket.Client(8000)
  // @ts-expect-error a proxy needs its origin
  new WebSocket.Client('ws://example.com/', [], { proxy: { headers: {} } })
  const ws = new WebSocket(request, socket, body)
  // @ts-expect-error send takes the message
  ws.send()
  // @ts-expect-error close takes a numeric code
  ws.close('normal')
  // @ts-expect-error readyState is read-only
  ws.readyState = 3
  ws.on('close', (event) => {
    // @ts-expect-error close events carry code and reason, not data
    console.log(event.data)
  })
  const es = new WebSocket.EventSource(request, response)
  // @ts-expect-error an event id is a string
  es.send('x', { id: 99 })
  // @ts-expect-error EventSource options are headers, ping and retry
  new WebSocket.EventSource(request, response, { maxLength: 10 })
}
