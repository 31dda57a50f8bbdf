//! Invite tokens: JWS compact tokens byte-compatible with what Medusa gets from the
//! `jsonwebtoken` npm package (docs/behaviour.md). The crate `jsonwebtoken` parses keys and
//! signs; the header and payload JSON are written here because their key order is part of
//! the contract (`alg, typ, kid, …header` and `id, email, iat, nbf, exp, aud, iss, sub, jti`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::RngCore;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::timespan::parse_ms;

const EXPIRES_IN_TYPE: &str =
  "\"expiresIn\" should be a number of seconds or string representing a timespan";
const NOT_BEFORE_TYPE: &str =
  "\"notBefore\" should be a number of seconds or string representing a timespan";
const MISSING_SECRET_OR_EXPIRY: &str =
  "JWT secret and expiresIn must be provided when generating a token";
/// The longest HMAC signature (HS512) in base64url, and ES256's; an RSA or ES384 signature
/// grows its token once.
const SIGNATURE_CHARS: usize = 86;
/// JS `Date` range: ±8.64e15 ms. Spans beyond it cannot produce a valid `expires_at`.
const MAX_SPAN_SECONDS: f64 = 8.64e12;

/// A duration as jsonwebtoken reads it: a number is seconds, a string is `ms` grammar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timespan {
  Seconds(i64),
  Millis(f64),
}

impl Timespan {
  /// jsonwebtoken's `timespan(time, iat)`: `iat + n` or `floor(iat + ms / 1000)`.
  fn claim(self, iat: i64) -> i64 {
    match self {
      Timespan::Seconds(seconds) => iat + seconds,
      Timespan::Millis(millis) => (iat as f64 + millis / 1000.0).floor() as i64,
    }
  }

  /// Reads a jsonwebtoken timespan option; `type_message` is jsonwebtoken's schema message.
  fn parse(value: &Value, type_message: &str) -> Result<Self> {
    match value {
      Value::Number(number) => {
        let seconds = number.as_f64().unwrap_or(f64::NAN);
        if seconds.fract() != 0.0 || seconds.abs() > MAX_SPAN_SECONDS {
          return Err(Error::invalid_argument(type_message));
        }
        Ok(Timespan::Seconds(seconds as i64))
      }
      Value::String(text) if !text.is_empty() => match parse_ms(text) {
        Some(millis) if millis.abs() <= MAX_SPAN_SECONDS * 1000.0 => Ok(Timespan::Millis(millis)),
        _ => Err(Error::invalid_argument(format!(
          "{type_message} eg: \"1d\", \"20h\", 60"
        ))),
      },
      _ => Err(Error::invalid_argument(type_message)),
    }
  }
}

/// Is this value falsy in JS? Medusa checks `if (!expiresIn)` after the `??` chain.
fn is_falsy(value: &Value) -> bool {
  match value {
    Value::Null => true,
    Value::Bool(flag) => !flag,
    Value::Number(number) => number.as_f64().is_none_or(|n| n == 0.0 || n.is_nan()),
    Value::String(text) => text.is_empty(),
    _ => false,
  }
}

/// Everything needed to sign a batch: parsed once per module, shared by every call.
pub struct TokenSigner {
  algorithm: Algorithm,
  key: EncodingKey,
  /// `base64url(header) + "."`, identical for every token of the module.
  header_prefix: String,
  expires_in: Timespan,
  not_before: Option<Timespan>,
  /// Pre-serialized JSON values of the optional claims, in jsonwebtoken's order.
  audience: Option<String>,
  issuer: Option<String>,
  subject: Option<String>,
  jwt_id: Option<String>,
  no_timestamp: bool,
}

/// The module options that shape tokens, with Medusa's names (docs/behaviour.md).
pub struct TokenOptions<'a> {
  pub secret: &'a str,
  pub jwt_options: Option<&'a Map<String, Value>>,
  pub valid_duration: Option<&'a Value>,
}

impl TokenSigner {
  /// Validates the options like jsonwebtoken's `sign()` would, and parses the key.
  pub fn new(options: TokenOptions<'_>) -> Result<Self> {
    let empty = Map::new();
    let jwt_options = options.jwt_options.unwrap_or(&empty);
    validate_jwt_option_types(jwt_options)?;

    // expiresIn = valid_duration ?? jwt_options.expiresIn ?? 86400 (docs/behaviour.md)
    let expires_in = options
      .valid_duration
      .filter(|value| !value.is_null())
      .or_else(|| {
        jwt_options
          .get("expiresIn")
          .filter(|value| !value.is_null())
      })
      .cloned()
      .unwrap_or(Value::from(86_400));
    if is_falsy(&expires_in) {
      return Err(Error::invalid_argument(MISSING_SECRET_OR_EXPIRY));
    }
    let expires_in = Timespan::parse(&expires_in, EXPIRES_IN_TYPE)?;
    let not_before = jwt_options
      .get("notBefore")
      .map(|value| Timespan::parse(value, NOT_BEFORE_TYPE))
      .transpose()?;

    let header = build_header(jwt_options);
    let algorithm_name = header
      .get("alg")
      .and_then(Value::as_str)
      .unwrap_or("HS256")
      .to_string();
    let algorithm = supported_algorithm(&algorithm_name)?;
    let key = encoding_key(options.secret, algorithm, &algorithm_name)?;
    let header_json = Value::Object(header).to_string();
    let text = |name: &str| {
      jwt_options
        .get(name)
        .and_then(Value::as_str)
        .map(json_string)
    };

    Ok(TokenSigner {
      algorithm,
      key,
      header_prefix: format!("{}.", URL_SAFE_NO_PAD.encode(header_json)),
      expires_in,
      not_before,
      audience: jwt_options.get("audience").map(Value::to_string),
      issuer: text("issuer"),
      subject: text("subject"),
      jwt_id: text("jwtid"),
      no_timestamp: jwt_options.get("noTimestamp") == Some(&Value::Bool(true)),
    })
  }

  /// `expires_at` of a call made at `now_ms` (docs/behaviour.md), shared by the whole batch.
  pub fn expires_at_ms(&self, now_ms: i64) -> i64 {
    match self.expires_in {
      Timespan::Seconds(seconds) => now_ms + seconds * 1000,
      Timespan::Millis(millis) => {
        (now_ms.div_euclid(1000) + (millis / 1000.0).floor() as i64) * 1000
      }
    }
  }

  /// Signs the token of one invite; `now_ms` is the call's clock reading. The payload is
  /// written into one buffer, without `fmt` (a batch signs thousands: this is its hot loop).
  pub fn sign(&self, id: &str, email: &str, now_ms: i64) -> Result<String> {
    let iat = now_ms.div_euclid(1000);
    let mut payload = Vec::with_capacity(160 + id.len() + email.len());
    payload.extend_from_slice(b"{\"id\":");
    push_json_string(&mut payload, id);
    payload.extend_from_slice(b",\"email\":");
    push_json_string(&mut payload, email);
    if !self.no_timestamp {
      push_number(&mut payload, "iat", iat);
    }
    if let Some(not_before) = self.not_before {
      push_number(&mut payload, "nbf", not_before.claim(iat));
    }
    push_number(&mut payload, "exp", self.expires_in.claim(iat));
    push_raw(&mut payload, "aud", self.audience.as_deref());
    push_raw(&mut payload, "iss", self.issuer.as_deref());
    push_raw(&mut payload, "sub", self.subject.as_deref());
    match &self.jwt_id {
      Some(jwt_id) => push_raw(&mut payload, "jti", Some(jwt_id)),
      None => push_random_uuid(&mut payload, "jti"),
    }
    payload.push(b'}');

    // Allocated at its final size: a batch's tokens are most of what it holds.
    let capacity = self.header_prefix.len() + (payload.len() * 4).div_ceil(3) + 1 + SIGNATURE_CHARS;
    let mut token = String::with_capacity(capacity);
    token.push_str(&self.header_prefix);
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    // The error text of a failed signature never includes the key or the message.
    let signature = jsonwebtoken::crypto::sign(token.as_bytes(), &self.key, self.algorithm)
      .map_err(|error| Error::invalid_argument(format!("Token signing failed: {error}")))?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
  }
}

/// `,"name":` before a claim's value.
fn push_name(out: &mut Vec<u8>, name: &str) {
  out.extend_from_slice(b",\"");
  out.extend_from_slice(name.as_bytes());
  out.extend_from_slice(b"\":");
}

fn push_number(out: &mut Vec<u8>, name: &str, value: i64) {
  push_name(out, name);
  // Writing to a Vec cannot fail.
  let _ = serde_json::to_writer(&mut *out, &value);
}

fn push_raw(out: &mut Vec<u8>, name: &str, json: Option<&str>) {
  if let Some(json) = json {
    push_name(out, name);
    out.extend_from_slice(json.as_bytes());
  }
}

/// `text` as a JSON string (serde_json escapes as JSON.stringify does).
fn push_json_string(out: &mut Vec<u8>, text: &str) {
  // Writing to a Vec cannot fail.
  let _ = serde_json::to_writer(&mut *out, text);
}

fn json_string(text: &str) -> String {
  Value::from(text).to_string()
}

/// A random UUID v4 from the thread's CSPRNG (no system call per token), as a JSON string
/// (hex digits and hyphens need no escaping).
fn push_random_uuid(out: &mut Vec<u8>, name: &str) {
  let mut bytes = [0u8; 16];
  rand::thread_rng().fill_bytes(&mut bytes);
  let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
  let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
  push_name(out, name);
  out.push(b'"');
  out.extend_from_slice(uuid.hyphenated().encode_lower(&mut text).as_bytes());
  out.push(b'"');
}

/// jsonwebtoken: `Object.assign({ alg, typ: "JWT", kid }, options.header)`.
fn build_header(jwt_options: &Map<String, Value>) -> Map<String, Value> {
  let mut header = Map::new();
  let algorithm = jwt_options
    .get("algorithm")
    .cloned()
    .unwrap_or(Value::from("HS256"));
  header.insert("alg".into(), algorithm);
  header.insert("typ".into(), Value::from("JWT"));
  if let Some(keyid) = jwt_options.get("keyid") {
    header.insert("kid".into(), keyid.clone());
  }
  if let Some(Value::Object(extra)) = jwt_options.get("header") {
    for (name, value) in extra {
      header.insert(name.clone(), value.clone());
    }
  }
  header
}

pub(crate) fn supported_algorithm(name: &str) -> Result<Algorithm> {
  Ok(match name {
    "HS256" => Algorithm::HS256,
    "HS384" => Algorithm::HS384,
    "HS512" => Algorithm::HS512,
    "RS256" => Algorithm::RS256,
    "RS384" => Algorithm::RS384,
    "RS512" => Algorithm::RS512,
    "PS256" => Algorithm::PS256,
    "PS384" => Algorithm::PS384,
    "PS512" => Algorithm::PS512,
    "ES256" => Algorithm::ES256,
    "ES384" => Algorithm::ES384,
    // jsonwebtoken also knows ES512 and "none"; we refuse to mint unsigned invite tokens.
    _ => {
      return Err(Error::invalid_argument(format!(
        "The JWT algorithm \"{}\" is not supported; use HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256 or ES384",
        crate::messages::shown(name)
      )))
    }
  })
}

fn encoding_key(secret: &str, algorithm: Algorithm, name: &str) -> Result<EncodingKey> {
  let is_private_pem = secret.contains("-----BEGIN") && secret.contains("PRIVATE KEY-----");
  let asymmetric_key = |parsed: jsonwebtoken::errors::Result<EncodingKey>| {
    // jsonwebtoken's own wording; the key itself never enters the message.
    parsed.map_err(|_| {
      Error::invalid_argument(format!(
        "secretOrPrivateKey must be an asymmetric key when using {name}"
      ))
    })
  };
  match algorithm {
    Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
      if is_private_pem {
        return Err(Error::invalid_argument(format!(
          "secretOrPrivateKey must be a symmetric key when using {name}"
        )));
      }
      Ok(EncodingKey::from_secret(secret.as_bytes()))
    }
    Algorithm::ES256 | Algorithm::ES384 => {
      asymmetric_key(EncodingKey::from_ec_pem(secret.as_bytes()))
    }
    _ => asymmetric_key(EncodingKey::from_rsa_pem(secret.as_bytes())),
  }
}

/// jsonwebtoken's `sign_options_schema`, with its messages, for the keys Medusa passes on.
fn validate_jwt_option_types(jwt_options: &Map<String, Value>) -> Result<()> {
  for (name, value) in jwt_options {
    let valid = match name.as_str() {
      // checked by Timespan::parse, after the falsy check, as Medusa does
      "expiresIn" | "notBefore" => true,
      "audience" => value.is_string() || value.is_array(),
      "algorithm" => value.is_string(),
      "header" => value.is_object(),
      "encoding" | "issuer" | "subject" | "jwtid" | "keyid" => value.is_string(),
      "noTimestamp"
      | "mutatePayload"
      | "allowInsecureKeySizes"
      | "allowInvalidAsymmetricKeyTypes" => value.is_boolean(),
      _ => {
        return Err(Error::invalid_argument(format!(
          "\"{}\" is not allowed in \"options\"",
          crate::messages::shown(name)
        )))
      }
    };
    if !valid {
      let message = match name.as_str() {
        "audience" => "\"audience\" must be a string or array".to_string(),
        "algorithm" => "\"algorithm\" must be a valid string enum value".to_string(),
        "header" => "\"header\" must be an object".to_string(),
        "noTimestamp"
        | "mutatePayload"
        | "allowInsecureKeySizes"
        | "allowInvalidAsymmetricKeyTypes" => {
          format!("\"{name}\" must be a boolean")
        }
        _ => format!("\"{name}\" must be a string"),
      };
      return Err(Error::invalid_argument(message));
    }
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn signer(jwt_options: Value, valid_duration: Option<Value>) -> Result<TokenSigner> {
    TokenSigner::new(TokenOptions {
      secret: "secret",
      jwt_options: jwt_options.as_object(),
      valid_duration: valid_duration.as_ref(),
    })
  }

  fn decode(part: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
  }

  #[test]
  fn default_token_has_medusa_key_order() {
    let token = signer(json!({}), None)
      .unwrap()
      .sign("invite_1", "a@b.c", 1_700_000_000_999)
      .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(decode(parts[0]), r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = decode(parts[1]);
    assert!(
      payload.starts_with(
        r#"{"id":"invite_1","email":"a@b.c","iat":1700000000,"exp":1700086400,"jti":""#
      ),
      "{payload}"
    );
  }

  #[test]
  fn expiry_follows_medusa() {
    let now = 1_700_000_000_999;
    let at = |duration: Value| {
      signer(json!({}), Some(duration))
        .unwrap()
        .expires_at_ms(now)
    };
    assert_eq!(at(json!(3600)), now + 3_600_000);
    assert_eq!(at(json!("2h")), (1_700_000_000 + 7200) * 1000);
    assert_eq!(at(json!("3600")), (1_700_000_000 + 3) * 1000);
    assert_eq!(at(json!(-10)), now - 10_000);
    let error = |duration: Value| signer(json!({}), Some(duration)).err().unwrap().message;
    assert_eq!(error(json!(0)), MISSING_SECRET_OR_EXPIRY);
    assert_eq!(error(json!(1.5)), EXPIRES_IN_TYPE);
    assert_eq!(
      error(json!("abc")),
      "\"expiresIn\" should be a number of seconds or string representing a timespan eg: \"1d\", \"20h\", 60"
    );
  }

  #[test]
  fn unknown_options_fail_like_jsonwebtoken() {
    let error = signer(json!({"foo": 1}), None).err().unwrap();
    assert_eq!(error.message, "\"foo\" is not allowed in \"options\"");
  }

  #[test]
  fn header_merges_keyid_and_extra_fields_in_order() {
    let token = signer(
      json!({"keyid": "k1", "header": {"x": 1, "typ": "AT"}}),
      None,
    )
    .unwrap()
    .sign("i", "e@x.y", 0)
    .unwrap();
    let header = decode(token.split('.').next().unwrap());
    assert_eq!(header, r#"{"alg":"HS256","typ":"AT","kid":"k1","x":1}"#);
  }
}
