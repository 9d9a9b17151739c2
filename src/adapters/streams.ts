// The browser-safe adapters: TCP and UDP as web-standard streams. Stack.connect, listen
// and udp call these; they are exported too, for code that holds a stack and wants a
// function.
export {
  connectStream, type StreamSocket, type StreamAddress, type StreamOptions, type ConnectStreamOptions,
  type SocketInfo, type HostLookup,
} from './stream-socket.js';
export { listenStream, type StreamListener, type ListenOptions, type ListenerAddress } from './stream-listener.js';
export {
  udpStream, type UdpStreamSocket, type UdpOptions, type UdpMessage, type UdpOutgoing, type UdpOpenInfo,
} from './udp-stream.js';
