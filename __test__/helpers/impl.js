'use strict'

// Selects the module under test. WS_IMPL=faye runs the suites against
// faye-websocket 0.11.4 (the reference); anything else loads this package.
//
//   WS_IMPL=faye npx jest     reference run, needs no native build
//   npx jest                  this package (index.js + the built addon)

const name = process.env.WS_IMPL === 'faye' ? 'faye' : 'native'

// Loads this package without throwing, so the parity suite can report why
// the native row could not run.
function loadNative () {
  try {
    return { module: require('../..'), error: null }
  } catch (error) {
    return { module: null, error }
  }
}

const WebSocket = name === 'faye' ? require('faye-websocket') : require('../..')

module.exports = {
  WebSocket,
  name,
  isFaye: name === 'faye',
  isNative: name === 'native',
  loadNative
}
