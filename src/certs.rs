//! Development certificates (rcgen): a CA, a server certificate for the names given, and a
//! client certificate for mTLS tests.
