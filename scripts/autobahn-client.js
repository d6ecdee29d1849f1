'use strict'
// Autobahn|Testsuite fuzzingserver driver: runs every case with this package's
// WebSocket.Client and permessage-deflate, echoing each message back (the stream
// form, ws.pipe(ws)).
//
//   node scripts/autobahn-client.js PORT [AGENT]

const WebSocket = require('..')
const deflate = require('permessage-deflate')

const port = parseInt(process.argv[2] || '9001', 10)
const agent = process.argv[3] || 'faye-websocket-native'
const base = `ws://127.0.0.1:${port}`

function runCase (n, total) {
  if (n > total) {
    const reports = new WebSocket.Client(`${base}/updateReports?agent=${agent}`)
    reports.on('close', () => process.exit(0))
    return
  }
  const ws = new WebSocket.Client(`${base}/runCase?case=${n}&agent=${agent}`, [], { extensions: [deflate] })
  ws.pipe(ws)
  ws.on('close', () => setImmediate(runCase, n + 1, total))
}

let total = 0
const counter = new WebSocket.Client(`${base}/getCaseCount`)
counter.on('message', (event) => { total = parseInt(event.data, 10) })
counter.on('close', () => {
  if (total > 0) return runCase(1, total)
  console.error('autobahn-client: the fuzzing server reported no cases')
  process.exit(1)
})
