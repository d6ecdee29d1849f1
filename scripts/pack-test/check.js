'use strict'

// Shared by the pack-test scripts, which run inside the throwaway projects that
// scripts/pack-test.sh installs from the tarballs. Each check prints `ok - name` or
// `not ok - name: why`; pack-test.sh counts those lines.

const fs = require('fs')
const path = require('path')

let failures = 0

async function check (name, fn, timeoutMs = 15000) {
  let timer
  try {
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out after ' + timeoutMs + ' ms')), timeoutMs)
    })
    await Promise.race([Promise.resolve().then(fn), timeout])
    console.log('ok - ' + name)
    return true
  } catch (error) {
    failures++
    console.log('not ok - ' + name + ': ' + (error && error.stack ? error.stack : error))
    return false
  } finally {
    clearTimeout(timer)
  }
}

function done () {
  process.exitCode = failures ? 1 : 0
}

// The .node files this process has loaded, from the dynamic loader's own list.
function loadedAddons () {
  return process.report.getReport().sharedObjects.filter((file) => file.endsWith('.node'))
}

// The name in the package.json of the package that `request` resolves to from `fromDir`.
function packageNameOf (request, fromDir) {
  let dir = path.dirname(require.resolve(request, { paths: [fromDir] }))
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir)
  return { dir, name: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name }
}

// Proves that the faye-websocket which `dependent` requires is this package, running on
// the prebuilt binary from its platform package, and that faye-websocket's own files were
// never loaded in this process.
function assertNativeUnder (dependent, projectDir) {
  const dependentDir = path.dirname(require.resolve(dependent + '/package.json', { paths: [projectDir] }))
  const { dir, name } = packageNameOf('faye-websocket', dependentDir)
  if (name !== 'faye-websocket-native') {
    throw new Error(dependent + ' resolves faye-websocket to ' + dir + ', which is ' + name)
  }
  const ours = Object.keys(require.cache).filter((file) => file.startsWith(dir + path.sep))
  if (!ours.includes(path.join(dir, 'lib', 'native.js'))) {
    throw new Error('faye-websocket-native was not loaded from ' + dir + ' (loaded: ' + ours.join(', ') + ')')
  }
  const upstream = Object.keys(require.cache).filter((file) => /[\\/]lib[\\/]faye[\\/]websocket/.test(file))
  if (upstream.length) throw new Error("faye-websocket's own files were loaded: " + upstream.join(', '))
  const addons = loadedAddons()
  const prebuilt = addons.filter((file) => /[\\/]faye-websocket-native-linux-x64-gnu[\\/]/.test(file))
  if (prebuilt.length !== 1 || addons.some((file) => file.startsWith(dir + path.sep))) {
    throw new Error('expected only the prebuilt binary to be loaded, loaded: ' + addons.join(', '))
  }
  return { dir, addon: prebuilt[0] }
}

module.exports = { check, done, loadedAddons, packageNameOf, assertNativeUnder }
