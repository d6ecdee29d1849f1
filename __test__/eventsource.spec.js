'use strict'

// WebSocket.EventSource on real loopback sockets: the raw byte stream read by a
// bare net.Socket and compared byte for byte with faye-websocket's, its events
// and options, and a real EventSource client (the `eventsource` package). Where
// this package is stricter than faye (field injection through CR/LF), each test
// asserts faye's behaviour under WS_IMPL=faye and the stricter one otherwise.

const { Readable } = require('stream')
const EventSourceClient = require('eventsource')
const FayeEventSource = require('faye-websocket').EventSource
const { isFaye, WebSocket } = require('./helpers/impl')
const { startEventSourceServer, openStream, captureStream } = require('./helpers/sse')
const { waitFor, quietPeriod, withGuard, deferred } = require('./helpers/wait')
const { track, closeAll } = require('./helpers/cleanup')

const EventSource = WebSocket.EventSource

afterEach(closeAll)

const HEAD = 'HTTP/1.1 200 OK\r\n' +
  'Content-Type: text/event-stream\r\n' +
  'Cache-Control: no-cache, no-store\r\n' +
  'Connection: close\r\n'

// The stream a client receives when the server sends nothing: head and retry.
function emptyStream (retryMs = 5000, headers = '') {
  return HEAD + headers + `\r\nretry: ${retryMs}\r\n\r\n`
}

async function open (options, setup) {
  const server = await startEventSourceServer({ EventSource, options, setup })
  const reader = await openStream(server.port)
  const stream = await server.nextStream()
  await stream.waitOpen()
  await reader.waitFor('\r\n\r\nretry: ')
  await reader.waitFor('\r\n\r\n', 2)
  return { server, reader, stream, es: stream.es }
}

describe('EventSource.isEventSource', () => {
  const requests = [
    ['GET, Accept: text/event-stream', true, { method: 'GET', headers: { accept: 'text/event-stream' } }],
    ['GET, event-stream among other types', true, { method: 'GET', headers: { accept: 'text/html , text/event-stream,*/*' } }],
    ['POST', false, { method: 'POST', headers: { accept: 'text/event-stream' } }],
    ['GET without Accept', false, { method: 'GET', headers: {} }],
    ['GET, Accept: text/event-streams', false, { method: 'GET', headers: { accept: 'text/event-streams' } }],
    ['GET, Accept: text/html', false, { method: 'GET', headers: { accept: 'text/html' } }]
  ]

  it.each(requests)('%s → %s, as faye', (_label, expected, request) => {
    expect(EventSource.isEventSource(request)).toBe(expected)
    expect(FayeEventSource.isEventSource(request)).toBe(expected)
  })

  it('is reachable as WebSocket.EventSource.isEventSource', () => {
    expect(typeof WebSocket.EventSource.isEventSource).toBe('function')
  })
})

describe('construction and options', () => {
  it("writes faye's response head and retry: 5000 by default", async () => {
    const { reader } = await open()
    expect(reader.text).toBe(emptyStream())
  })

  it('writes the headers option after the fixed head, and retry in milliseconds', async () => {
    const { reader } = await open({ headers: { 'Access-Control-Allow-Origin': '*', 'X-Number': 5 }, retry: 2.5 })
    expect(reader.text).toBe(emptyStream(2500, 'Access-Control-Allow-Origin: *\r\nX-Number: 5\r\n'))
  })

  it('floors a fractional retry to whole milliseconds', async () => {
    const { reader } = await open({ retry: 0.0015 })
    expect(reader.text).toBe(emptyStream(1))
  })

  it('sends a keep-alive comment every `ping` seconds', async () => {
    const { reader } = await open({ ping: 0.05 })
    await reader.waitFor(':\r\n\r\n', 3)
    expect(reader.text.startsWith(emptyStream() + ':\r\n\r\n:\r\n\r\n:\r\n\r\n')).toBe(true)
  })

  it('pings every 10 s by default', async () => {
    const spy = jest.spyOn(global, 'setInterval')
    try {
      const server = await startEventSourceServer({ EventSource })
      await openStream(server.port)
      await server.nextStream()
      expect(spy.mock.calls.map((call) => call[1])).toContain(10000)
    } finally {
      spy.mockRestore()
    }
  })

  it(`${isFaye ? 'ignores (faye)' : 'throws for'} an unknown option`, async () => {
    const server = await startEventSourceServer({ EventSource, options: { foo: 1 } })
    const reader = await openStream(server.port)
    if (isFaye) {
      await server.nextStream()
      return
    }
    await expect(server.nextStream()).rejects.toThrow('Unrecognized option: foo')
    await reader.waitClosed()
    expect(reader.bytes.length).toBe(0)
  })

  it(`${isFaye ? 'writes (faye)' : 'throws for, before writing anything,'} a CR/LF in a headers option value`, async () => {
    const server = await startEventSourceServer({ EventSource, options: { headers: { 'X-A': 'a\r\nInjected: 1' } } })
    const reader = await openStream(server.port)
    if (isFaye) {
      await server.nextStream()
      await reader.waitFor('\r\nInjected: 1\r\n')
      return
    }
    await expect(server.nextStream()).rejects.toThrow(/X-A/)
    await reader.waitClosed()
    expect(reader.bytes.length).toBe(0)
  })

  it('sets url from the request and lastEventId from Last-Event-ID', async () => {
    const server = await startEventSourceServer({ EventSource })
    await openStream(server.port, { path: '/events/feed?x=1', headers: { 'Last-Event-ID': '42' } })
    const first = await server.nextStream()
    expect(first.es.url).toBe(`http://127.0.0.1:${server.port}/events/feed?x=1`)
    expect(first.es.lastEventId).toBe('42')

    await openStream(server.port, { headers: { 'X-Forwarded-Proto': 'https', Host: 'example.com' } })
    const second = await server.nextStream()
    expect(second.es.url).toBe('https://example.com/events')
    expect(second.es.lastEventId).toBe('')
  })

  it('is CONNECTING when constructed and fires open on the next tick, then is OPEN', async () => {
    const seen = []
    const server = await startEventSourceServer({
      EventSource,
      setup: (es) => {
        seen.push(`constructed:${es.readyState}`)
        // added after construction, still in time
        es.onopen = () => seen.push(`onopen:${es.readyState}`)
        // a tick queued after construction runs after open
        process.nextTick(() => seen.push(`tick:${es.readyState}`))
        seen.push(`setup done:${es.readyState}`)
      }
    })
    await openStream(server.port)
    const stream = await server.nextStream()
    await stream.waitOpen()
    expect(seen).toEqual(['constructed:0', 'setup done:0', 'onopen:1', 'tick:1'])
    expect(stream.es.readyState).toBe(1)
  })
})

describe('the client going away', () => {
  it('fires close when the client ends the connection', async () => {
    const { reader, stream, es } = await open()
    reader.socket.end()
    await stream.waitClosed()
    expect(stream.log).toEqual(['open', 'close'])
    expect(es.readyState).toBe(3)
    expect(es.send('late')).toBe(false)
  })

  it('fires close when the connection errors (reset)', async () => {
    const { reader, stream, es } = await open({ ping: 0.02 })
    reader.socket.resetAndDestroy()
    await stream.waitClosed()
    expect(stream.log).toEqual(['open', 'close'])
    expect(es.readyState).toBe(3)
  })

  it("does not fire close on the application's bare socket.destroy(), as faye", async () => {
    const { stream, es } = await open()
    stream.socket.destroy()
    await quietPeriod(100)
    expect(stream.log).toEqual(['open'])
    expect(es.readyState).toBe(1)
    es.close()
    expect(stream.log).toEqual(['open', 'close'])
  })
})

describe('sending', () => {
  it('writes data, event and id fields with CRLF line ends', async () => {
    const { reader, es } = await open()
    const start = reader.bytes.length
    expect(es.send('hello')).toBe(true)
    expect(es.send('Breaking News!', { event: 'notification', id: '99' })).toBe(true)
    expect(es.send('only id', { id: 7 })).toBe(true)
    const expected = 'data: hello\r\n\r\n' +
      'event: notification\r\nid: 99\r\ndata: Breaking News!\r\n\r\n' +
      'id: 7\r\ndata: only id\r\n\r\n'
    await reader.until((text) => text.length >= emptyStream().length + expected.length, 'three events')
    expect(reader.bytes.subarray(start).toString('utf8')).toBe(expected)
  })

  it('keeps each original line ending in multi-line data', async () => {
    const { reader, es } = await open()
    es.send('a\nb\r\nc\rd')
    const expected = 'data: a\ndata: b\r\ndata: c\rdata: d\r\n\r\n'
    await reader.waitFor('data: d\r\n\r\n')
    expect(reader.text.slice(emptyStream().length)).toBe(expected)
  })

  it('ping() writes a comment; write() sends; end(message) sends then closes', async () => {
    const { reader, stream, es } = await open()
    expect(es.ping()).toBe(true)
    expect(es.write('via write')).toBe(true)
    es.end('last')
    await stream.waitClosed()
    await reader.waitClosed()
    expect(reader.gotEnd).toBe(true)
    expect(reader.text.slice(emptyStream().length)).toBe(':\r\n\r\ndata: via write\r\n\r\ndata: last\r\n\r\n')
  })

  it('close() returns true once, fires close, ends the response, and later calls do nothing', async () => {
    const { reader, stream, es } = await open()
    expect(es.close()).toBe(true)
    expect(es.readyState).toBe(3)
    expect(stream.log).toEqual(['open', 'close'])
    expect(es.close()).toBe(false)
    expect(es.send('x')).toBe(false)
    expect(es.ping()).toBe(false)
    expect(es.write('x')).toBe(false)
    await reader.waitClosed()
    expect(reader.gotEnd).toBe(true)
    expect(reader.text).toBe(emptyStream())
    expect(stream.log).toEqual(['open', 'close'])
  })

  it('can be the destination of pipe(): each chunk an event, the end closes it', async () => {
    const { reader, stream, es } = await open()
    Readable.from(['one', 'two\nlines', 'three']).pipe(es)
    await stream.waitClosed()
    await reader.waitClosed()
    expect(reader.text.slice(emptyStream().length)).toBe(
      'data: one\r\n\r\ndata: two\ndata: lines\r\n\r\ndata: three\r\n\r\n'
    )
  })

  it("returns false when the socket's buffer is full and emits drain when it empties", async () => {
    const { reader, es } = await open()
    reader.socket.pause()
    const chunk = 'x'.repeat(64 * 1024)
    let accepted = true
    for (let i = 0; i < 4096 && accepted; i++) accepted = es.send(chunk)
    expect(accepted).toBe(false)
    const drained = waitFor(es, 'drain')
    reader.socket.resume()
    await drained
  })

  it(`${isFaye ? 'lets (faye)' : 'refuses'} a CR/LF in id inject a field`, async () => {
    const { reader, es } = await open()
    const send = () => es.send('x', { id: '1\r\ndata: injected' })
    if (isFaye) {
      expect(send()).toBe(true)
      await reader.waitFor('data: x\r\n\r\n')
      expect(reader.text).toContain('id: 1\r\ndata: injected\r\ndata: x\r\n\r\n')
      return
    }
    expect(send).toThrow('EventSource id must not contain CR or LF')
    expect(() => es.send('x', { id: 'a\rb' })).toThrow('EventSource id must not contain CR or LF')
    es.send('after')
    await reader.waitFor('data: after\r\n\r\n')
    expect(reader.text).toBe(emptyStream() + 'data: after\r\n\r\n')
    expect(es.readyState).toBe(1)
  })

  it(`${isFaye ? 'lets (faye)' : 'refuses'} a line break in event inject a field`, async () => {
    const { reader, es } = await open()
    const send = () => es.send('x', { event: 'a\nid: 666' })
    if (isFaye) {
      expect(send()).toBe(true)
      await reader.waitFor('data: x\r\n\r\n')
      expect(reader.text).toContain('event: a\nid: 666\r\ndata: x\r\n\r\n')
      return
    }
    expect(send).toThrow('EventSource event must not contain CR or LF')
    es.send('after')
    await reader.waitFor('data: after\r\n\r\n')
    expect(reader.text).toBe(emptyStream() + 'data: after\r\n\r\n')
  })
})

describe('byte-for-byte the stream faye-websocket writes', () => {
  const scripts = [
    ['send, event/id, ping, write, stringified values, end', {
      options: { headers: { 'X-Foo': ' bar ', 'x-foo': 'dropped duplicate', 'Set-Cookie': 'a=1' }, retry: 2.5, ping: 1000 },
      script: (es) => es.on('open', () => {
        es.send('hello')
        es.send('multi\nline\r\ntext\rend\n', { event: 'update', id: '42' })
        es.ping()
        es.write('via write')
        es.send(13)
        es.send([1, 2, 3])
        es.send({})
        es.send(null)
        es.send('x', { event: '', id: '' })
        es.send('x', { event: 0, id: 0 })
        es.send('', { id: '0' })
        es.send('é ✓ 中文 😀 \ud800')
        es.end('bye')
      })
    }],
    ['sends before open, then close()', {
      options: { retry: 0.25 },
      script: (es) => { es.send('early', { id: 'e' }); es.close() }
    }],
    ['a Readable piped in', {
      script: (es) => Readable.from(['a', 'b\nc', 'd']).pipe(es)
    }],
    ['a Last-Event-ID request, end() without a message', {
      headers: { 'Last-Event-ID': '5' },
      script: (es) => es.on('open', () => { es.send(es.lastEventId, { id: Number(es.lastEventId) + 1 }); es.end() })
    }]
  ]

  it.each(scripts)('%s', async (_label, { options, script, headers }) => {
    const ours = await captureStream(EventSource, script, { options, headers })
    const faye = await captureStream(FayeEventSource, script, { options, headers })
    expect(ours.toString('latin1')).toBe(faye.toString('latin1'))
    expect(ours.length).toBeGreaterThan(emptyStream().length)
  })
})

// A real EventSource client. `eventsource` reconnects after the server's
// `retry` (its own default is 1000 ms) and sends Last-Event-ID when it does.
function connectClient (url) {
  const client = new EventSourceClient(url)
  track(() => client.close(), 0)
  return client
}

function nextEvent (client, type, label = `a '${type}' event on the EventSource client`) {
  const received = deferred()
  const listener = (event) => {
    client.removeEventListener(type, listener)
    received.resolve(event)
  }
  client.addEventListener(type, listener)
  return withGuard(received.promise, label)
}

describe('with a real EventSource client (eventsource package)', () => {
  it('delivers messages with their event type, id and multi-line data', async () => {
    const server = await startEventSourceServer({
      EventSource,
      setup: (es) => es.on('open', () => {
        es.send('plain')
        es.send('line 1\nline 2', { event: 'update', id: '7' })
      })
    })
    const client = connectClient(`${server.origin}/events`)
    const [message, update] = await Promise.all([nextEvent(client, 'message'), nextEvent(client, 'update')])
    expect(message.data).toBe('plain')
    expect(update.data).toBe('line 1\nline 2')
    expect(update.lastEventId).toBe('7')
    expect(client.readyState).toBe(EventSourceClient.OPEN)
  })

  it('reconnects after the retry delay and sends Last-Event-ID, which the server sees', async () => {
    const RETRY_MS = 300
    let closedAt = 0
    const server = await startEventSourceServer({
      EventSource,
      options: { retry: RETRY_MS / 1000 },
      setup: (es) => es.on('open', () => {
        if (es.lastEventId) return es.send(`resumed after ${es.lastEventId}`, { id: '42' })
        es.send('first', { id: '41' })
        // Close once the client can have read it; it then reconnects.
        setTimeout(() => { closedAt = Date.now(); es.close() }, 50)
      })
    })
    const client = connectClient(`${server.origin}/events`)
    const first = await server.nextStream()
    expect(first.es.lastEventId).toBe('')
    expect((await nextEvent(client, 'message')).data).toBe('first')

    const second = await server.nextStream(3000)
    const delay = Date.now() - closedAt
    expect(second.request.headers['last-event-id']).toBe('41')
    expect(second.es.lastEventId).toBe('41')
    // Honoured: not at once, and well before the client's own 1000 ms default.
    expect(delay).toBeGreaterThanOrEqual(RETRY_MS - 20)
    expect(delay).toBeLessThan(950)

    const resumed = await nextEvent(client, 'message')
    expect(resumed.data).toBe('resumed after 41')
    expect(resumed.lastEventId).toBe('42')
  })
})
