'use strict'

// Runs in a project that installed faye (and the eventsource client) with
// "overrides": { "faye-websocket": <this package's tarball> }. faye's NodeAdapter takes
// WebSocket upgrades with faye-websocket's WebSocket and EventSource requests with its
// EventSource; faye's Node client connects with faye-websocket's Client.

const http = require('http')
const path = require('path')
const { check, done, assertNativeUnder } = require('./check')

const faye = require('faye')
const EventSource = require('eventsource')

// Counts the EventSource requests that reach the EventSource class of the faye-websocket
// that faye itself requires.
const fayeDir = path.dirname(require.resolve('faye/package.json'))
const FayeWebSocket = require(require.resolve('faye-websocket', { paths: [fayeDir] }))
const isEventSource = FayeWebSocket.EventSource.isEventSource
let eventSourceRequests = 0
FayeWebSocket.EventSource.isEventSource = function (request) {
  const yes = isEventSource.call(this, request)
  if (yes) eventSourceRequests++
  return yes
}

function post (url, messages) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(messages)
    const request = http.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
    }, (response) => {
      let data = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => { data += chunk })
      response.on('end', () => {
        try {
          resolve(JSON.parse(data))
        } catch (error) {
          reject(new Error(response.statusCode + ' ' + data))
        }
      })
    })
    request.on('error', reject)
    request.end(body)
  })
}

function successful (replies, channel) {
  const reply = replies.find((message) => message.channel === channel)
  if (!reply || !reply.successful) throw new Error(channel + ' failed: ' + JSON.stringify(replies))
  return reply
}

async function main () {
  const bayeux = new faye.NodeAdapter({ mount: '/bayeux', timeout: 20 })
  const connectionTypes = new Set()
  bayeux.addExtension({
    incoming (message, callback) {
      if (message.channel === '/meta/connect') connectionTypes.add(message.connectionType)
      callback(message)
    }
  })
  const server = http.createServer()
  bayeux.attach(server)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const endpoint = 'http://127.0.0.1:' + server.address().port + '/bayeux'

  // Bayeux makes the handshake go over HTTP (long-polling is a mandatory connection
  // type); faye's client then moves to the websocket transport for everything else.
  const client = new faye.Client(endpoint)
  client.disable('in-process')

  await check('faye client subscribes and publishes over WebSocket', async () => {
    const received = new Promise((resolve) => {
      client.subscribe('/over-websocket', resolve).then(() =>
        client.publish('/over-websocket', { text: 'hello over websocket' }))
    })
    const message = await received
    if (message.text !== 'hello over websocket') throw new Error('received ' + JSON.stringify(message))
    if (client._dispatcher.connectionType !== 'websocket') {
      throw new Error('client transport: ' + client._dispatcher.connectionType)
    }
    if (!connectionTypes.has('websocket') || connectionTypes.has('long-polling')) {
      throw new Error('server saw /meta/connect over ' + [...connectionTypes])
    }
  })

  await check('a message published over WebSocket reaches a Bayeux client on an EventSource', async () => {
    const handshake = successful(await post(endpoint, [{
      channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['eventsource', 'long-polling']
    }]), '/meta/handshake')
    const clientId = handshake.clientId
    if (!handshake.supportedConnectionTypes.includes('eventsource')) {
      throw new Error('the server does not offer eventsource: ' + JSON.stringify(handshake))
    }
    // faye's browser transport: deliveries come down an EventSource on <endpoint>/<clientId>,
    // the client's own messages go up as POSTs.
    const es = new EventSource(endpoint + '/' + clientId)
    try {
      await new Promise((resolve, reject) => {
        es.onopen = resolve
        es.onerror = (error) => reject(new Error('EventSource error ' + JSON.stringify(error)))
      })
      successful(await post(endpoint, [{
        channel: '/meta/connect', clientId, connectionType: 'eventsource'
      }]), '/meta/connect')
      successful(await post(endpoint, [{
        channel: '/meta/subscribe', clientId, subscription: '/to-eventsource'
      }]), '/meta/subscribe')
      const delivered = new Promise((resolve) => {
        es.onmessage = (event) => {
          const messages = JSON.parse(event.data)
          const message = messages.find((m) => m.channel === '/to-eventsource')
          if (message) resolve(message.data)
        }
      })
      await client.publish('/to-eventsource', { text: 'hello over eventsource' })
      const data = await delivered
      if (data.text !== 'hello over eventsource') throw new Error('received ' + JSON.stringify(data))
      if (!connectionTypes.has('eventsource')) throw new Error('server saw ' + [...connectionTypes])
      if (eventSourceRequests !== 1) throw new Error(eventSourceRequests + ' EventSource requests reached faye-websocket')
    } finally {
      es.close()
    }
  })

  await check('faye runs on faye-websocket-native and its prebuilt binary', () => {
    assertNativeUnder('faye', process.cwd())
  })

  await client.disconnect()
  bayeux.close()
  server.close()
  done()
  setTimeout(() => process.exit(), 100).unref()
}

main()
