'use strict'

// The only file that loads the addon, and it only ever loads the binary built for the
// platform it runs on (OS, CPU and, on Linux, C library), from one of two places:
//
//   1. faye-websocket-native.<platform>.node beside package.json: what `npm run build`
//      writes in a checkout (and what a git install builds through `prepare`). The
//      published package never contains one, so this only finds a local build, and in a
//      checkout a fresh build wins over a prebuilt package that may be installed too.
//   2. the faye-websocket-native-<platform> package: the prebuilt binary, which npm
//      installs from the published package's optionalDependencies (only the one whose
//      os, cpu and libc fields match; older npm ignores libc and installs both Linux
//      flavours, hence the check here).
//
// <platform> is napi-rs's name for the target: linux-x64-gnu, linux-x64-musl,
// darwin-arm64, win32-x64-msvc, …

const fs = require('fs')
const path = require('path')

const BINARY_NAME = 'faye-websocket-native'
const PACKAGE_NAME = 'faye-websocket-native'
const VERSION = require('../package.json').version

// The platforms a prebuilt package is published for, as in package.json's napi.targets
// and .github/workflows/release.yml.
const PREBUILT = [
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
  'win32-x64-msvc'
]

// Whether this process runs on musl. What counts is the C library this Node binary
// is linked against, not which one the system has installed (a glibc Node on Alpine
// through gcompat, a musl Node in a glibc container): a binary for the other one
// fails to load, or loads and crashes.
function isMusl () {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8')
    if (/\/ld-musl-[^/\s]*\.so|\/libc\.musl-/.test(maps)) return true
    if (/\/libc(\.so\.6|-2\.\d+\.so)\b/.test(maps)) return false
  } catch (error) {
    // no /proc: ask Node below
  }
  try {
    const report = process.report && process.report.getReport()
    if (report && report.header && report.header.glibcVersionRuntime) return false
    if (report && Array.isArray(report.sharedObjects) &&
        report.sharedObjects.some((f) => /ld-musl-|libc\.musl-/.test(f))) return true
  } catch (error) {
    // no report either: fall through to the system's ldd
  }
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch (error) {
    return false
  }
}

// napi-rs's platform name for this process (the suffix of `napi build --platform`).
function platformName () {
  const { platform, arch } = process
  if (platform === 'linux') {
    const musl = isMusl()
    if (arch === 'arm') return 'linux-arm-' + (musl ? 'musleabihf' : 'gnueabihf')
    return 'linux-' + arch + '-' + (musl ? 'musl' : 'gnu')
  }
  if (platform === 'win32') return 'win32-' + arch + '-msvc'
  return platform + '-' + arch
}

function describe (error) {
  return error && error.message ? error.message.split('\n')[0] : String(error)
}

const fromSource = 'build it from source: in a checkout of ' + PACKAGE_NAME +
  ', `npm install` builds it (needs a Rust toolchain with cargo, https://rustup.rs, and a C compiler)'

function load () {
  const platform = platformName()
  const localFile = path.join(__dirname, '..', BINARY_NAME + '.' + platform + '.node')
  const packageName = PACKAGE_NAME + '-' + platform
  const tried = []

  if (fs.existsSync(localFile)) {
    try {
      return require(localFile)
    } catch (error) {
      error.message = PACKAGE_NAME + ': the local build ' + localFile +
        ' could not be loaded (' + describe(error) + '). Rebuild it with `npm run build`.'
      throw error
    }
  }
  tried.push(localFile + ': not built')

  let packageDir = null
  try {
    packageDir = path.dirname(require.resolve(packageName + '/package.json'))
  } catch (error) {
    tried.push(packageName + ': not installed')
  }
  if (packageDir) {
    const installed = require(path.join(packageDir, 'package.json')).version
    // The binding's API is internal and changes between versions: JavaScript from one
    // version on the binary of another would fail in odd places later.
    if (installed !== VERSION) {
      throw new Error(PACKAGE_NAME + ' ' + VERSION + ' found ' + packageName + ' ' + installed +
        ' (' + packageDir + '); it needs exactly ' + VERSION + ': `npm install ' +
        packageName + '@' + VERSION + '`.')
    }
    const file = path.join(packageDir, BINARY_NAME + '.' + platform + '.node')
    if (fs.existsSync(file)) {
      try {
        return require(file)
      } catch (error) {
        error.message = PACKAGE_NAME + ': the prebuilt binary ' + file + ' could not be loaded (' +
          describe(error) + ').' +
          (platform.endsWith('-gnu') ? ' It needs glibc 2.17 or later.' : '') +
          ' Reinstall ' + packageName + ', or ' + fromSource + '.'
        throw error
      }
    }
    tried.push(file + ': missing from the installed ' + packageName)
  }

  const advice = PREBUILT.includes(platform)
    ? 'Install the prebuilt binary: `npm install ' + packageName + '@' + VERSION + '`. npm installs it ' +
      'with ' + PACKAGE_NAME + ' as an optional dependency, unless optional dependencies were ' +
      'omitted (--omit=optional, --no-optional) or the lockfile was made on another platform. ' +
      'Or ' + fromSource + '.'
    : 'There is no prebuilt binary for ' + platform + ' (prebuilt: ' + PREBUILT.join(', ') +
      '); ' + fromSource + '.'
  const error = new Error(PACKAGE_NAME + ': no native addon for ' + platform + '. ' + advice +
    '\nLooked for:\n  ' + tried.join('\n  '))
  error.code = 'ERR_FAYE_WEBSOCKET_NATIVE_BINARY'
  throw error
}

module.exports = load()
