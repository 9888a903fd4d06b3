// The sandbox uses the project's own systemd D-Bus client.
export * from '../../lib/systemd.js';
