//! Verification of invite tokens as Medusa's `validateInviteToken` does it: the `jsonwebtoken`
//! npm package's `verify(token, jwt_public_key ?? jwt_secret, jwt_verify_options ?? jwt_options)`
//! (docs/behaviour.md), with its checks in its order and its messages. The crate `jsonwebtoken` checks
//! signatures; the claim checks are written here because their order and wording are part of
//! the contract.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::timespan::parse_ms;
use crate::token::supported_algorithm;

/// Node's base64 decoder accepts padding or none and ignores trailing bits; so does this one.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
  &URL_SAFE,
  GeneralPurposeConfig::new()
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const HS: &[&str] = &["HS256", "HS384", "HS512"];
const RSA: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
const EC: &[&str] = &["ES256", "ES384", "ES512"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
  Secret,
  Rsa,
  Ec,
}

/// What verifies tokens: the key and jsonwebtoken's verify options, parsed once per module.
pub struct TokenVerifier {
  key: Result<(KeyKind, DecodingKey)>,
  algorithms: Vec<String>,
  options: Map<String, Value>,
}

/// The claim Medusa reads from a verified token: the invite id (`payload.id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteId {
  Id(String),
  /// The payload has no string `id`: Medusa's `retrieve(undefined)` refuses it.
  Missing,
}

fn invalid(message: impl Into<String>) -> Error {
  Error::invalid_data(message)
}

impl TokenVerifier {
  /// `secret` is `jwt_secret`, `public_key` `jwt_public_key`; `options` is
  /// `jwt_verify_options ?? jwt_options`, as Medusa passes them.
  pub fn new(secret: &str, public_key: Option<&str>, options: Option<&Map<String, Value>>) -> Self {
    let mut options = options.cloned().unwrap_or_default();
    // Medusa turns a signing `algorithm` into `algorithms: [algorithm]`.
    if !options.contains_key("algorithms") {
      if let Some(algorithm) = options.remove("algorithm") {
        options.insert("algorithms".into(), Value::Array(vec![algorithm]));
      }
    }
    let key = decoding_key(public_key.unwrap_or(secret));
    let algorithms = match options.get("algorithms") {
      Some(Value::Array(names)) => names
        .iter()
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect(),
      _ => {
        let defaults = match &key {
          Ok((KeyKind::Secret, _)) | Err(_) => HS,
          Ok((KeyKind::Rsa, _)) => RSA,
          Ok((KeyKind::Ec, _)) => EC,
        };
        defaults.iter().map(|name| name.to_string()).collect()
      }
    };
    TokenVerifier {
      key,
      algorithms,
      options,
    }
  }

  /// Verifies `token` at `now_ms`; returns the invite id it carries.
  pub fn verify(&self, token: &str, now_ms: i64) -> Result<InviteId> {
    let clock = match self.options.get("clockTimestamp") {
      None | Some(Value::Null) => (now_ms.div_euclid(1000)) as f64,
      Some(Value::Number(seconds)) => seconds.as_f64().unwrap_or(0.0),
      Some(_) => return Err(invalid("clockTimestamp must be a number")),
    };
    if token.is_empty() {
      return Err(invalid("jwt must be provided"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
      return Err(invalid("jwt malformed"));
    }
    let (header, payload) = decode(&parts).ok_or_else(|| invalid("invalid token"))?;
    if parts[2].trim().is_empty() {
      return Err(invalid("jwt signature is required"));
    }
    let (kind, key) = self.key.as_ref().map_err(Clone::clone)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !self.algorithms.iter().any(|allowed| allowed == alg) {
      return Err(invalid("invalid algorithm"));
    }
    if alg.starts_with("HS") && *kind != KeyKind::Secret {
      return Err(invalid(format!(
        "secretOrPublicKey must be a symmetric key when using {alg}"
      )));
    }
    if !alg.starts_with("HS") && *kind == KeyKind::Secret {
      return Err(invalid(format!(
        "secretOrPublicKey must be an asymmetric key when using {alg}"
      )));
    }
    let algorithm: Algorithm =
      supported_algorithm(alg).map_err(|_| invalid("invalid algorithm"))?;
    let message = &token[..parts[0].len() + 1 + parts[1].len()];
    let valid =
      jsonwebtoken::crypto::verify(parts[2], message.as_bytes(), key, algorithm).unwrap_or(false);
    if !valid {
      return Err(invalid("invalid signature"));
    }
    self.check_claims(&payload, clock)?;
    Ok(match payload.get("id") {
      Some(Value::String(id)) => InviteId::Id(id.clone()),
      _ => InviteId::Missing,
    })
  }

  /// jsonwebtoken's claim checks, in its order: nbf, exp, aud, iss, sub, jti, maxAge.
  fn check_claims(&self, payload: &Map<String, Value>, clock: f64) -> Result<()> {
    let options = &self.options;
    let flag = |name: &str| options.get(name).is_some_and(truthy);
    let tolerance = options
      .get("clockTolerance")
      .and_then(Value::as_f64)
      .unwrap_or(0.0);
    if let Some(nbf) = payload.get("nbf") {
      if !flag("ignoreNotBefore") {
        let nbf = nbf.as_f64().ok_or_else(|| invalid("invalid nbf value"))?;
        if nbf > clock + tolerance {
          return Err(invalid("jwt not active"));
        }
      }
    }
    if let Some(exp) = payload.get("exp") {
      if !flag("ignoreExpiration") {
        let exp = exp.as_f64().ok_or_else(|| invalid("invalid exp value"))?;
        if clock >= exp + tolerance {
          return Err(invalid("jwt expired"));
        }
      }
    }
    if let Some(audience) = options.get("audience").filter(|value| truthy(value)) {
      let expected = strings(audience);
      let given = payload.get("aud").map(strings).unwrap_or_default();
      if !given.iter().any(|aud| expected.contains(aud)) {
        return Err(invalid(format!(
          "jwt audience invalid. expected: {}",
          expected.join(" or ")
        )));
      }
    }
    if let Some(issuer) = options.get("issuer").filter(|value| truthy(value)) {
      let expected = strings(issuer);
      let given = payload.get("iss").and_then(Value::as_str);
      if !given.is_some_and(|iss| expected.iter().any(|e| e == iss)) {
        // String(array) joins with commas.
        return Err(invalid(format!(
          "jwt issuer invalid. expected: {}",
          expected.join(",")
        )));
      }
    }
    for (option, claim, label) in [("subject", "sub", "subject"), ("jwtid", "jti", "jwtid")] {
      if let Some(expected) = options.get(option).filter(|value| truthy(value)) {
        if payload.get(claim) != Some(expected) {
          let shown = expected
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| expected.to_string());
          return Err(invalid(format!("jwt {label} invalid. expected: {shown}")));
        }
      }
    }
    if let Some(max_age) = options.get("maxAge").filter(|value| truthy(value)) {
      let iat = payload
        .get("iat")
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid("iat required when maxAge is specified"))?;
      let limit = match max_age {
        Value::Number(seconds) => seconds.as_f64().map(|seconds| iat + seconds),
        Value::String(text) => parse_ms(text).map(|ms| (iat + ms / 1000.0).floor()),
        _ => None,
      }
      .ok_or_else(|| {
        invalid("\"maxAge\" should be a number of seconds or string representing a timespan eg: \"1d\", \"20h\", 60")
      })?;
      if clock >= limit + tolerance {
        return Err(invalid("maxAge exceeded"));
      }
    }
    Ok(())
  }
}

fn truthy(value: &Value) -> bool {
  match value {
    Value::Null => false,
    Value::Bool(flag) => *flag,
    Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
    Value::String(text) => !text.is_empty(),
    _ => true,
  }
}

fn strings(value: &Value) -> Vec<String> {
  match value {
    Value::Array(items) => items
      .iter()
      .map(|item| {
        item
          .as_str()
          .map_or_else(|| item.to_string(), str::to_string)
      })
      .collect(),
    Value::String(text) => vec![text.clone()],
    other => vec![other.to_string()],
  }
}

/// jws's `decode`: the header must be a JSON object; the payload is JSON when the header says
/// `typ: "JWT"` (and otherwise when it parses as an object). `None` is "invalid token".
fn decode(parts: &[&str]) -> Option<(Map<String, Value>, Map<String, Value>)> {
  let is_base64url = |part: &str| {
    part
      .bytes()
      .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
  };
  if parts[0].is_empty() || parts[1].is_empty() || !parts.iter().all(|part| is_base64url(part)) {
    return None;
  }
  let header: Map<String, Value> = serde_json::from_slice(&LENIENT.decode(parts[0]).ok()?).ok()?;
  let payload_bytes = LENIENT.decode(parts[1]).ok()?;
  let payload = match serde_json::from_slice::<Value>(&payload_bytes) {
    Ok(Value::Object(payload)) => payload,
    // A payload that is not an object carries no claims (and no invite id).
    Ok(_) => Map::new(),
    Err(_) if header.get("typ").and_then(Value::as_str) == Some("JWT") => return None,
    Err(_) => Map::new(),
  };
  Some((header, payload))
}

/// The verification key: a PEM public key (RSA or EC), or the secret's UTF-8 bytes.
fn decoding_key(key: &str) -> Result<(KeyKind, DecodingKey)> {
  if !key.contains("-----BEGIN") {
    return Ok((KeyKind::Secret, DecodingKey::from_secret(key.as_bytes())));
  }
  if let Ok(rsa) = DecodingKey::from_rsa_pem(key.as_bytes()) {
    return Ok((KeyKind::Rsa, rsa));
  }
  if let Ok(ec) = DecodingKey::from_ec_pem(key.as_bytes()) {
    return Ok((KeyKind::Ec, ec));
  }
  // jsonwebtoken derives the public key from a private one; this module needs it given.
  Err(Error::invalid_argument(
    "Tokens signed with a private key are verified with the jwt_public_key option (a PEM public key); it is missing or not a valid public key",
  ))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::token::{TokenOptions, TokenSigner};
  use serde_json::json;

  fn sign(secret: &str, jwt_options: Value) -> String {
    let jwt_options = jwt_options.as_object().cloned();
    TokenSigner::new(TokenOptions {
      secret,
      jwt_options: jwt_options.as_ref(),
      valid_duration: None,
    })
    .unwrap()
    .sign("invite_1", "a@x.y", 1_700_000_000_000)
    .unwrap()
  }

  fn verifier(options: Value) -> TokenVerifier {
    TokenVerifier::new("s3cret", None, options.as_object())
  }

  const NOW: i64 = 1_700_000_001_000;

  #[test]
  fn a_token_of_the_module_verifies_and_carries_the_invite_id() {
    let token = sign("s3cret", json!({}));
    assert_eq!(
      verifier(json!({})).verify(&token, NOW),
      Ok(InviteId::Id("invite_1".into()))
    );
  }

  #[test]
  fn bad_tokens_fail_with_jsonwebtoken_messages() {
    let token = sign("s3cret", json!({}));
    let message = |token: &str, at: i64| verifier(json!({})).verify(token, at).unwrap_err().message;
    assert_eq!(message("", NOW), "jwt must be provided");
    assert_eq!(message("abc", NOW), "jwt malformed");
    assert_eq!(message("a.b.c", NOW), "invalid token");
    assert_eq!(message(&sign("other", json!({})), NOW), "invalid signature");
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(message(&tampered, NOW), "invalid signature");
    assert_eq!(message(&token, NOW + 86_400_000), "jwt expired");
    let unsigned = &token[..token.rfind('.').unwrap() + 1];
    assert_eq!(message(unsigned, NOW), "jwt signature is required");
  }

  #[test]
  fn verify_options_apply() {
    let token = sign("s3cret", json!({"audience": "store"}));
    let error = verifier(json!({"audience": "admin"}))
      .verify(&token, NOW)
      .unwrap_err();
    assert_eq!(error.message, "jwt audience invalid. expected: admin");
    assert!(verifier(json!({"audience": ["admin", "store"]}))
      .verify(&token, NOW)
      .is_ok());
    let error = verifier(json!({"algorithms": ["HS512"]}))
      .verify(&token, NOW)
      .unwrap_err();
    assert_eq!(error.message, "invalid algorithm");
    assert!(verifier(json!({"ignoreExpiration": true}))
      .verify(&token, NOW + 90_000_000)
      .is_ok());
  }
}
