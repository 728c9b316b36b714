#!/usr/bin/env node
// WebSocket MQTT servers for Tern's integration tests, started (and killed by PID) by
// tests/integration/fixture.hpp. Everything listens on 127.0.0.1 only.
//
//   node servers.js [--aedes-ws PORT] [--aedes-wss PORT]
//                   [--aedes-user NAME --aedes-password SECRET]
//                   [--bridge-ws PORT] [--bridge-wss PORT] [--bridge-target PORT]
//                   [--cert server.pem --key server.key]
//
//   aedes   an MQTT 3.1.1 broker (npm `aedes` + `aedes-server-factory`) over ws:// and, with the
//           certificate, wss://. With --aedes-user/--aedes-password it refuses other
//           credentials with CONNACK return code 4 (bad user name or password).
//   bridge  a WebSocket-to-TCP bridge (npm `ws`) in front of mosquitto's plain TCP listener on
//           127.0.0.1:--bridge-target, so MQTT 5.0 can be tested over ws:// and wss://. It
//           accepts only the subprotocol "mqtt" and passes binary frames through unchanged.
//
// Prints "ready" on stdout once every listener is up.
'use strict'

const fs = require('fs')
const http = require('http')
const https = require('https')
const net = require('net')

const HOST = '127.0.0.1'

function parseArgs (argv) {
  const args = {}
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]
    const value = argv[i + 1]
    if (!name.startsWith('--') || value === undefined) {
      throw new Error(`bad arguments near "${name}"`)
    }
    args[name.slice(2)] = value
  }
  return args
}

const args = parseArgs(process.argv.slice(2))
const tls = args.cert && args.key
  ? { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }
  : null

function listen (server, port, what) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(Number(port), HOST, () => {
      server.removeListener('error', reject)
      console.error(`servers.js: ${what} listening on ${HOST}:${port}`)
      resolve()
    })
  })
}

function needTls (what) {
  if (!tls) throw new Error(`${what} needs --cert and --key`)
}

// ---- aedes (MQTT 3.1.1) --------------------------------------------------------------------

function startAedes () {
  if (!args['aedes-ws'] && !args['aedes-wss']) return []
  const { createServer } = require('aedes-server-factory')
  const options = {}
  if (args['aedes-user'] !== undefined) {
    const user = args['aedes-user']
    const password = args['aedes-password'] || ''
    options.authenticate = (client, username, pw, done) => {
      if (username === user && pw !== undefined && pw !== null && pw.toString() === password) {
        done(null, true)
        return
      }
      const err = new Error('bad user name or password')
      err.returnCode = 4
      done(err, null)
    }
  }
  const aedes = require('aedes')(options)
  aedes.on('clientError', (client, err) => {
    console.error(`servers.js: aedes client ${client && client.id} error: ${err.message}`)
  })
  const waits = []
  if (args['aedes-ws']) {
    waits.push(listen(createServer(aedes, { ws: true }), args['aedes-ws'], 'aedes ws'))
  }
  if (args['aedes-wss']) {
    needTls('--aedes-wss')
    waits.push(listen(createServer(aedes, { ws: true, https: tls }), args['aedes-wss'],
      'aedes wss'))
  }
  return waits
}

// ---- WebSocket-to-TCP bridge (MQTT 5.0 to mosquitto) -----------------------------------------

function bridgeServer (server, targetPort) {
  const { WebSocketServer } = require('ws')
  const wss = new WebSocketServer({
    server,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false)
  })
  wss.on('connection', (ws) => {
    const tcp = net.connect({ host: HOST, port: Number(targetPort) })
    tcp.setNoDelay(true)
    const pending = []  // frames that arrived before the TCP connection was up
    let connected = false
    tcp.on('connect', () => {
      connected = true
      for (const chunk of pending) tcp.write(chunk)
      pending.length = 0
    })
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        ws.close(1003, 'MQTT needs binary frames')
        return
      }
      if (connected) tcp.write(data)
      else pending.push(data)
    })
    tcp.on('data', (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true })
    })
    // Either side ending ends the other: the broker sees a client that closed without
    // DISCONNECT exactly when the WebSocket did.
    ws.on('close', () => tcp.destroy())
    ws.on('error', () => tcp.destroy())
    tcp.on('close', () => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000)
    })
    tcp.on('error', (err) => {
      console.error(`servers.js: bridge to ${HOST}:${targetPort}: ${err.message}`)
    })
  })
  wss.on('error', (err) => console.error(`servers.js: bridge: ${err.message}`))
  return server
}

function startBridge () {
  const waits = []
  const target = args['bridge-target']
  if ((args['bridge-ws'] || args['bridge-wss']) && !target) {
    throw new Error('--bridge-ws/--bridge-wss need --bridge-target')
  }
  if (args['bridge-ws']) {
    waits.push(listen(bridgeServer(http.createServer(), target), args['bridge-ws'], 'bridge ws'))
  }
  if (args['bridge-wss']) {
    needTls('--bridge-wss')
    waits.push(listen(bridgeServer(https.createServer(tls), target), args['bridge-wss'],
      'bridge wss'))
  }
  return waits
}

Promise.all([...startAedes(), ...startBridge()]).then(
  () => console.log('ready'),
  (err) => {
    console.error(`servers.js: ${err.message}`)
    process.exit(1)
  })

process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
