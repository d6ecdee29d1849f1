'use strict'

// The end of a socket's life, whichever way it comes:
//   - 'close' fires exactly once, and 'error' never after it;
//   - nothing it leaves behind (timers, sockets) keeps the process alive;
//   - its file descriptor is released, also when hundreds of peers vanish at once.

const path = require('path')
const { spawn } = require('child_process')
const { startServer, record } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const { startRawServer } = require('./helpers/raw_server')
const { openClient } = require('./helpers/client_socket')
const { startIsolated, pollUntil, MiB } = require('./helpers/isolated')
const H = require('./helpers/hixie')
const F = require('./helpers/frames')
const { WebSocket } = require('./helpers/impl')
const { quietPeriod, withGuard, deferred } = require('./helpers/wait')
const { track, closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

// Waits for the close event, then gives late events a chance to show up
// (a negative check) and returns the whole log.
async function settle (recorded) {
  await recorded.waitClosed()
  await quietPeriod(150)
  return recorded.log.map((entry) => entry.type)
}

function expectOneClose (types) {
  expect(types.filter((t) => t === 'close')).toHaveLength(1)
  expect(types.filter((t) => t === 'end').length).toBeLessThanOrEqual(1)
  const closeAt = types.indexOf('close')
  expect(types.slice(closeAt + 1)).toEqual([]) // no error, message or anything after close
}

describe("'close' fires exactly once on the server socket, 'error' never after it", () => {
  async function open () {
    const server = await startServer()
    const peer = await connectRaw(server.port)
    peer.socket.on('error', () => {})
    const connection = await server.nextConnection()
    await connection.waitOpen()
    return { server, peer, connection, ws: connection.ws }
  }

  const paths = [
    ['the client closes', async ({ peer }) => {
      peer.write(F.close(1000, 'bye'))
      await peer.readClose()
    }, 1000],
    ['the server closes and the client answers', async ({ peer, ws }) => {
      ws.close(4000, 'done')
      await peer.readClose()
      peer.write(F.close(4000, 'done'))
    }, 4000],
    ['both close at the same time', async ({ peer, ws }) => {
      peer.write(F.close(1000))
      ws.close(1000)
      ws.close(1000)
    }, 1000],
    ['the server closes, the client vanishes instead of answering', async ({ peer, ws }) => {
      ws.close()
      await peer.readClose()
      peer.destroy()
    }, 1006],
    ['the client vanishes (FIN)', async ({ peer }) => peer.destroy(), 1006],
    ['the client resets the connection (RST)', async ({ peer }) => peer.socket.resetAndDestroy(), 1006],
    ['a protocol error, then more garbage and a close frame', async ({ peer }) => {
      peer.write(Buffer.concat([F.frame({ opcode: 3 }), F.text('ignored'), F.close(1000)]))
      await peer.readClose()
      peer.write(Buffer.alloc(1000, 0x8f))
      peer.destroy()
    }, 1002],
    ['a socket error', async ({ connection }) => connection.socket.destroy(new Error('boom')), 1006],
    ['a socket error right after close()', async ({ connection, ws }) => {
      ws.close()
      connection.socket.destroy(new Error('boom'))
    }, 1006],
    ['close() called again after the close event', async ({ peer, ws, connection }) => {
      peer.write(F.close(1000))
      await connection.waitClosed()
      ws.close()
      ws.close(4001, 'again')
    }, 1000]
  ]

  it.each(paths)('%s', async (_label, act, code) => {
    const context = await open()
    await act(context)
    const types = await settle(context.connection)
    expectOneClose(types)
    expect((await context.connection.closed).code).toBe(code)
    expect(context.ws.readyState).toBe(3)
  })

  it('a refused handshake: error, then close once', async () => {
    const server = await startServer()
    await connectRaw(server.port, { version: '8' })
    const connection = await server.nextConnection()
    const types = await settle(connection)
    expectOneClose(types)
    expect(types).toEqual(['error', 'end', 'close'])
  })

  it('hixie-76: the closing handshake, then a drop', async () => {
    const server = await startServer()
    const peer = await H.connectDraft(server.port, H.draftRequest(76), { body: H.BODY })
    const connection = await server.nextConnection()
    await connection.waitOpen()
    peer.write(H.CLOSING)
    peer.destroy()
    expectOneClose(await settle(connection))
  })
})

describe("'close' fires exactly once on WebSocket.Client, 'error' never after it", () => {
  async function open () {
    const server = await startRawServer()
    const client = openClient(`${server.url}/`)
    const connection = await server.nextConnection()
    connection.socket.on('error', () => {})
    return { server, client, connection }
  }

  const opened = async ({ client, connection }) => {
    connection.accept101()
    await client.waitOpen()
  }

  const paths = [
    ['the client closes', async (c) => {
      await opened(c)
      c.client.ws.close()
      await c.connection.readClose()
      c.connection.respond(F.close(1000, '', { mask: false }))
    }, 1000],
    ['the server closes', async (c) => {
      await opened(c)
      c.connection.respond(F.close(1001, 'going', { mask: false }))
      await c.connection.readClose()
      c.connection.end()
    }, 1001],
    ['the server vanishes', async (c) => {
      await opened(c)
      c.connection.destroy()
    }, 1006],
    ['the server resets the connection (RST)', async (c) => {
      await opened(c)
      c.connection.socket.resetAndDestroy()
    }, 1006],
    ['a protocol error (a masked frame from the server)', async (c) => {
      await opened(c)
      c.connection.respond(Buffer.concat([F.text('masked', { mask: true }), F.text('more', { mask: false })]))
    }, 1002],
    ['the handshake is refused', async (c) => {
      c.connection.respond('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    }, 1002],
    ['a socket error', async (c) => {
      await opened(c)
      c.client.ws._stream.destroy(new Error('boom'))
    }, 1006],
    ['close() before the handshake response, which then arrives', async (c) => {
      c.client.ws.close()
      c.connection.accept101()
    }, 1000]
  ]

  it.each(paths)('%s', async (_label, act, code) => {
    const context = await open()
    await act(context)
    const types = await settle(context.client)
    expectOneClose(types)
    expect((await context.client.closed).code).toBe(code)
  })

  it('connection refused: error, then close once', async () => {
    const server = await startRawServer()
    const { port } = server
    await server.close()
    const client = openClient(`ws://127.0.0.1:${port}/`)
    const types = await settle(client)
    expectOneClose(types)
    expect(types).toEqual(['error', 'end', 'close'])
  })

  it('close() while connecting: close fires at once, and not again when the connect fails or succeeds', async () => {
    for (const reachable of [false, true]) {
      const server = await startRawServer()
      const { port } = server
      if (!reachable) await server.close()
      const ws = new WebSocket.Client(`ws://127.0.0.1:${port}/`)
      const recorded = record(ws, 'the client')
      track(() => ws._stream && ws._stream.destroy(), 0)
      ws.close()
      expect(recorded.log.map((e) => e.type)).toEqual(['end', 'close'])
      const types = await settle(recorded)
      expectOneClose(types)
      expect(types).toEqual(['end', 'close'])
    }
  })
})

describe('a closed socket leaves nothing that keeps the process alive', () => {
  const SCRIPT = path.join(__dirname, 'fixtures', 'lifecycle_exit.js')
  const EXIT_MS = 2000

  // Runs the program; resolves with its output and how long it took to exit
  // after printing "closed".
  function run (scenario) {
    const child = spawn(process.execPath, [SCRIPT, scenario], { stdio: ['ignore', 'pipe', 'inherit'] })
    track(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }, 0)
    let output = ''
    const closedAt = deferred()
    const exited = deferred()
    child.stdout.on('data', (chunk) => {
      output += chunk
      if (/^closed$/m.test(output)) closedAt.resolve(Date.now())
      if (/^failed: /m.test(output)) closedAt.reject(new Error(output))
    })
    child.on('exit', (code, signal) => {
      closedAt.reject(new Error(`exited (${code}, ${signal}) before closing: ${output}`))
      exited.resolve({ code, signal, at: Date.now() })
    })
    return (async () => {
      const closed = await withGuard(closedAt.promise, `"${scenario}" to close everything`, 10000)
      const exit = await withGuard(exited.promise, `"${scenario}" to exit on its own within ${EXIT_MS} ms`, EXIT_MS)
      return { output, exit, lingered: exit.at - closed }
    })()
  }

  it.each([
    ['server-initiated close', 'server-close', 'codes 1000 1000'],
    ['client-initiated close', 'client-close', 'codes 1000 1000'],
    ['the client vanishes without a closing handshake', 'client-vanishes', 'codes 1006 1006'],
    ['the server side vanishes without a closing handshake', 'server-vanishes', 'codes 1006 1006'],
    ['our close frame is never answered, the peer drops instead', 'close-unanswered', 'codes 1006 1006'],
    ['both sides with the ping option (interval timers)', 'ping-timers', 'codes 1000 1000'],
    ['close() while the client is connecting', 'close-while-connecting', null],
    ['a refused handshake', 'refused-handshake', null],
    ['an EventSource closed by the server', 'eventsource', null]
  ])('%s', async (_label, scenario, codes) => {
    const { output, exit, lingered } = await run(scenario)
    expect(exit.code).toBe(0)
    expect(lingered).toBeLessThan(EXIT_MS)
    if (codes) expect(output).toContain(codes)
  })
})

describe('file descriptors return to baseline after mass disconnects', () => {
  const COUNT = 200

  async function massDisconnect (hangUp, { sendFirst = 0 } = {}) {
    const child = await startIsolated()
    const port = await child.listen()
    const baseline = await child.fds()
    const peers = []
    for (let i = 0; i < COUNT; i += 50) {
      peers.push(...await Promise.all(Array.from({ length: Math.min(50, COUNT - i) }, () => connectRaw(port))))
    }
    for (const peer of peers) peer.socket.on('error', () => {})
    await pollUntil(() => child.state(), (s) => s.connections.length === COUNT && s.connections.every((c) => c.readyState === 1),
      { label: `${COUNT} open connections` })
    expect(await child.fds()).toBeGreaterThanOrEqual(baseline + COUNT)

    if (sendFirst) {
      // The server is in the middle of writing to every peer when they go:
      // the peers stop reading, so the data is still on its way (unread, the
      // peers' kernels answer it with RST when they close).
      for (const peer of peers) peer.socket.pause()
      for (let id = 1; id <= COUNT; id++) await child.call('sendMany', { id, size: sendFirst, count: 1, untilFalse: false })
    }
    const gone = peers.map((peer) => withGuard(peer.closed, 'a peer socket to close completely', 10000))
    for (const peer of peers) hangUp(peer)
    // Every peer socket closes completely: none is left half-open by the server.
    await Promise.all(gone)

    const state = await pollUntil(() => child.state(), (s) => s.connections.every((c) => c.readyState === 3) && s.httpSockets === 0,
      { label: 'every server socket to close' })
    expect(state.connections.map((c) => c.closes)).toEqual(state.connections.map(() => 1))
    expect(state.connections.map((c) => c.errorsAfterClose)).toEqual(state.connections.map(() => 0))
    expect(await child.call('serverConnections')).toBe(0)
    await pollUntil(() => child.fds(), (n) => n <= baseline, { label: `open fds back to ${baseline}` })
    return state
  }

  it(`${COUNT} peers destroyed at once`, async () => {
    const state = await massDisconnect((peer) => peer.destroy())
    expect(state.connections.map((c) => c.close.code)).toEqual(state.connections.map(() => 1006))
  })

  it(`${COUNT} peers resetting their connections (RST)`, async () => {
    await massDisconnect((peer) => peer.socket.resetAndDestroy())
  })

  it(`${COUNT} peers half-closing (FIN, still reading): the server closes its side too`, async () => {
    await massDisconnect((peer) => peer.socket.end())
  })

  it(`${COUNT} peers destroyed while the server writes 1 MiB to each`, async () => {
    await massDisconnect((peer) => peer.destroy(), { sendFirst: MiB })
  })
})
