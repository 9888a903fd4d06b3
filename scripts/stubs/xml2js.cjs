// Stands in for xml2js in the bundles (scripts/build.mjs). dbus-next
// needs it only for introspection XML: parsing it for proxy objects
// (getProxyObject, never used: lib/systemd.ts makes low-level calls)
// and building it to answer Introspect for exported objects (none are).
// Left out, every bundle that talks D-Bus is about 100 KB smaller, which
// Node parses at each start of a command.
'use strict';
class Builder {
  buildObject() {
    return '<node/>';
  }
}
class Parser {
  parseString(_xml, cb) {
    cb(new Error('xml2js is not in this bundle: D-Bus introspection is not supported'));
  }
}
module.exports = { Builder, Parser };
