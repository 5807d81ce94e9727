//! PKCS#12 bundles for Java, SoapUI and .NET users: the key with its chain, and the CA as a
//! trusted entry so the same file serves as a trust store; and a trust store holding only the
//! CA. A trusted entry carries Oracle's trusted-key-usage bag attribute
//! (2.16.840.1.113894.746875.1.1, written by `p12-keystore` for every certificate entry):
//! without it Java's PKCS12 key store reads no trusted certificate from the file.

use std::fs;
use std::path::Path;

use rcgen::KeyPair;

use super::files::write_file;
use super::{Ca, IssuedCert, PkiError, hsa_id_from_der, io_err};

impl IssuedCert {
    /// Writes a PKCS#12 bundle (for Java/SoapUI): the private key with the chain (this
    /// certificate, then the CA), plus the CA as a trusted certificate entry so that the same
    /// file also serves as a trust store. Encryption is PBES2/AES-256 with an HMAC-SHA256 MAC.
    pub fn write_p12(&self, ca: &Ca, path: &Path, password: &str) -> Result<(), PkiError> {
        let p12_err = |source| PkiError::P12 {
            path: path.to_path_buf(),
            source,
        };
        let key = KeyPair::from_pem(&self.key_pem).map_err(|e| PkiError::File {
            path: path.to_path_buf(),
            reason: format!("the private key is not usable PKCS#8: {e}"),
        })?;
        let alias = match hsa_id_from_der(&self.cert_der)? {
            Some(id) => id.to_lowercase(),
            None => "function-certificate".to_owned(),
        };
        let leaf = p12_keystore::Certificate::from_der(&self.cert_der).map_err(p12_err)?;
        let ca_cert = p12_keystore::Certificate::from_der(ca.cert_der()).map_err(p12_err)?;
        let private_key =
            p12_keystore::PrivateKey::from_der(&key.serialize_der()).map_err(p12_err)?;
        let chain = p12_keystore::PrivateKeyChain::new(
            alias.as_bytes(),
            private_key,
            [leaf, ca_cert.clone()],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(&alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        store.add_entry(
            "ntjp-testbed-ca",
            p12_keystore::KeyStoreEntry::Certificate(ca_cert),
        );
        let bytes = store.writer(password).write().map_err(p12_err)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
        }
        write_file(path, bytes.as_slice(), true)
    }
}

impl Ca {
    /// Writes a PKCS#12 trust store holding only this CA's certificate as a trusted entry
    /// (alias `ntjp-testbed-ca`), for `javax.net.ssl.trustStore` and the like.
    pub fn write_truststore(&self, path: &Path, password: &str) -> Result<(), PkiError> {
        let p12_err = |source| PkiError::P12 {
            path: path.to_path_buf(),
            source,
        };
        let ca_cert = p12_keystore::Certificate::from_der(self.cert_der()).map_err(p12_err)?;
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "ntjp-testbed-ca",
            p12_keystore::KeyStoreEntry::Certificate(ca_cert),
        );
        let bytes = store.writer(password).write().map_err(p12_err)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
        }
        // Nothing secret in it, but the password protects its integrity only: 0644 as a PEM.
        write_file(path, bytes.as_slice(), false)
    }
}
