//! The per-tenant security policy: password rules, session lifetime, sign-in lockout and an
//! optional IP allow-list, set by the tenant's admins.
//!
//! A tenant that never set a policy gets [`SecurityPolicy::defaults`], built from the
//! process's [`AuthSettings`]; the stored policy then replaces them whole. Changes name the
//! version they were based on, like every update of the API.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tenet_events::TenantId;
use utoipa::ToSchema;

use crate::admin_events::Change;
use crate::auth::AuthSettings;
use crate::db::{BeginWrite, Database};
use crate::passwords;
use crate::{enqueue, on_backend};

/// The bounds of each setting, checked by [`SecurityPolicy::validate`].
pub mod limits {
    /// Shortest allowed `password.min_length`: the global floor of [`crate::passwords`].
    pub const MIN_PASSWORD_LENGTH: u32 = crate::passwords::MIN_LENGTH as u32;
    /// Longest allowed `password.min_length`.
    pub const MAX_PASSWORD_LENGTH: u32 = crate::passwords::MAX_LENGTH as u32;
    /// Session lifetime bounds in minutes: 5 minutes to 30 days.
    pub const SESSION_MINUTES: (u32, u32) = (5, 43_200);
    /// Failed sign-ins before lockout: 1 to 100.
    pub const FAILED_LOGINS: (u32, u32) = (1, 100);
    /// Lockout bounds in minutes: 1 minute to 1 day.
    pub const LOCKOUT_MINUTES: (u32, u32) = (1, 1_440);
    /// At most this many allow-list entries.
    pub const ALLOWLIST_ENTRIES: usize = 100;
}

/// What a new password must contain beyond the global rules of [`crate::passwords`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRules {
    /// The fewest characters.
    #[schema(minimum = 10, maximum = 256)]
    pub min_length: u32,
    /// At least one digit.
    pub require_digit: bool,
    /// At least one character that is neither a letter nor a digit.
    pub require_symbol: bool,
    /// At least one upper-case and one lower-case letter.
    pub require_mixed_case: bool,
}

/// Why a password breaks a tenant's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Shorter than the tenant's minimum.
    #[error("password must be at least {0} characters in this tenant")]
    TooShort(u32),
    /// No digit.
    #[error("password must contain a digit in this tenant")]
    NoDigit,
    /// No symbol.
    #[error(
        "password must contain a character that is neither a letter nor a digit in this tenant"
    )]
    NoSymbol,
    /// Not both cases.
    #[error("password must contain upper-case and lower-case letters in this tenant")]
    NoMixedCase,
}

impl PasswordRules {
    /// Checks `password` against these rules (the global rules are checked by
    /// [`passwords::NewPassword::parse`]).
    ///
    /// # Errors
    /// The first [`PolicyViolation`].
    pub fn check(&self, password: &SecretString) -> Result<(), PolicyViolation> {
        let text = password.expose_secret();
        if text.chars().count() < self.min_length as usize {
            return Err(PolicyViolation::TooShort(self.min_length));
        }
        if self.require_digit && !text.chars().any(|c| c.is_ascii_digit()) {
            return Err(PolicyViolation::NoDigit);
        }
        if self.require_symbol && !text.chars().any(|c| !c.is_alphanumeric()) {
            return Err(PolicyViolation::NoSymbol);
        }
        if self.require_mixed_case
            && !(text.chars().any(char::is_uppercase) && text.chars().any(char::is_lowercase))
        {
            return Err(PolicyViolation::NoMixedCase);
        }
        Ok(())
    }
}

/// A block of IP addresses: one address, or a network in CIDR notation (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    network: IpAddr,
    prefix: u8,
}

/// Why an allow-list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or a CIDR block such as 10.0.0.0/8 or 2001:db8::/32")]
pub struct InvalidIpBlock(String);

impl FromStr for IpBlock {
    type Err = InvalidIpBlock;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidIpBlock(s.to_owned());
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let network: IpAddr = address.parse().map_err(|_| invalid())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= bits)
                    .ok_or_else(invalid)?
            }
            Some(_) => return Err(invalid()),
        };
        let block = Self { network, prefix };
        // The network must be written with its host bits cleared, so that an entry means
        // what it shows.
        if block.mask(network) != network {
            return Err(invalid());
        }
        Ok(block)
    }
}

impl IpBlock {
    fn mask(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((bits & mask).into())
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((bits & mask).into())
            }
        }
    }

    /// Whether `address` is in the block. An IPv4 address written as IPv6
    /// (`::ffff:10.0.0.1`) counts as the IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        address.is_ipv4() == self.network.is_ipv4() && self.mask(address) == self.network
    }
}

impl fmt::Display for IpBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == bits {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

/// A tenant's security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SecurityPolicy {
    /// Rules for new passwords.
    pub password: PasswordRules,
    /// How long a browser session lasts after sign-in, in minutes (5 to 43,200).
    #[schema(minimum = 5, maximum = 43200)]
    pub session_lifetime_minutes: u32,
    /// Failed sign-ins in a row after which the account is locked (1 to 100).
    #[schema(minimum = 1, maximum = 100)]
    pub max_failed_logins: u32,
    /// How long a locked account stays locked, in minutes (1 to 1,440).
    #[schema(minimum = 1, maximum = 1440)]
    pub lockout_minutes: u32,
    /// Addresses and CIDR blocks that may sign in and use the API; empty allows any.
    #[schema(value_type = Vec<String>, max_items = 100)]
    #[serde(serialize_with = "blocks_as_text")]
    pub ip_allowlist: Vec<IpBlock>,
    /// Its version: send it back with a change. 0 while the tenant uses the defaults.
    pub version: i64,
    /// When an admin last changed it; `null` while the tenant uses the defaults.
    pub updated_at: Option<DateTime<Utc>>,
}

fn blocks_as_text<S: serde::Serializer>(
    blocks: &[IpBlock],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(blocks.iter().map(ToString::to_string))
}

/// Why a policy was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidPolicy {
    /// The field at fault, as a JSON path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn within(field: &str, value: u32, (min, max): (u32, u32)) -> Result<(), InvalidPolicy> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(InvalidPolicy {
            field: field.to_owned(),
            message: format!("{field} must be {min} to {max}"),
        })
    }
}

impl SecurityPolicy {
    /// The policy of a tenant that never set one.
    pub fn defaults(auth: &AuthSettings) -> Self {
        let minutes = |duration: std::time::Duration| {
            u32::try_from(duration.as_secs().div_ceil(60)).unwrap_or(u32::MAX)
        };
        Self {
            password: PasswordRules {
                min_length: limits::MIN_PASSWORD_LENGTH,
                require_digit: false,
                require_symbol: false,
                require_mixed_case: false,
            },
            session_lifetime_minutes: minutes(auth.session_lifetime),
            max_failed_logins: auth.max_failed_logins,
            lockout_minutes: minutes(auth.lockout),
            ip_allowlist: Vec::new(),
            version: 0,
            updated_at: None,
        }
    }

    /// Checks every setting against [`limits`].
    ///
    /// # Errors
    /// [`InvalidPolicy`] naming the first field out of bounds.
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        within(
            "password.min_length",
            self.password.min_length,
            (limits::MIN_PASSWORD_LENGTH, limits::MAX_PASSWORD_LENGTH),
        )?;
        within(
            "session_lifetime_minutes",
            self.session_lifetime_minutes,
            limits::SESSION_MINUTES,
        )?;
        within(
            "max_failed_logins",
            self.max_failed_logins,
            limits::FAILED_LOGINS,
        )?;
        within(
            "lockout_minutes",
            self.lockout_minutes,
            limits::LOCKOUT_MINUTES,
        )?;
        if self.ip_allowlist.len() > limits::ALLOWLIST_ENTRIES {
            return Err(InvalidPolicy {
                field: "ip_allowlist".into(),
                message: format!(
                    "ip_allowlist holds at most {} entries",
                    limits::ALLOWLIST_ENTRIES
                ),
            });
        }
        Ok(())
    }

    /// Whether a client at `address` may sign in and call the API. With an allow-list, a
    /// request whose address is unknown is refused.
    pub fn admits(&self, address: Option<IpAddr>) -> bool {
        self.ip_allowlist.is_empty()
            || address.is_some_and(|address| {
                self.ip_allowlist
                    .iter()
                    .any(|block| block.contains(address))
            })
    }

    /// The session lifetime.
    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.session_lifetime_minutes))
    }

    /// The lockout after too many failed sign-ins.
    pub fn lockout(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.lockout_minutes))
    }
}

/// Parses allow-list entries.
///
/// # Errors
/// [`InvalidPolicy`] naming the first bad entry (`ip_allowlist[2]`).
pub fn parse_allowlist(entries: &[String]) -> Result<Vec<IpBlock>, InvalidPolicy> {
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            entry
                .trim()
                .parse()
                .map_err(|error: InvalidIpBlock| InvalidPolicy {
                    field: format!("ip_allowlist[{index}]"),
                    message: error.to_string(),
                })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    password_min_length: i32,
    password_require_digit: bool,
    password_require_symbol: bool,
    password_require_mixed_case: bool,
    session_lifetime_minutes: i32,
    max_failed_logins: i32,
    lockout_minutes: i32,
    ip_allowlist: String,
    version: i64,
    updated_at: DateTime<Utc>,
}

fn decode(
    column: &'static str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.into(),
        source: Box::new(error),
    }
}

impl TryFrom<PolicyRow> for SecurityPolicy {
    type Error = sqlx::Error;

    fn try_from(row: PolicyRow) -> Result<Self, Self::Error> {
        let unsigned = |column: &'static str, value: i32| {
            u32::try_from(value).map_err(|error| decode(column, error))
        };
        let entries: Vec<String> = serde_json::from_str(&row.ip_allowlist)
            .map_err(|error| decode("ip_allowlist", error))?;
        let ip_allowlist =
            parse_allowlist(&entries).map_err(|error| decode("ip_allowlist", error))?;
        Ok(Self {
            password: PasswordRules {
                min_length: unsigned("password_min_length", row.password_min_length)?,
                require_digit: row.password_require_digit,
                require_symbol: row.password_require_symbol,
                require_mixed_case: row.password_require_mixed_case,
            },
            session_lifetime_minutes: unsigned(
                "session_lifetime_minutes",
                row.session_lifetime_minutes,
            )?,
            max_failed_logins: unsigned("max_failed_logins", row.max_failed_logins)?,
            lockout_minutes: unsigned("lockout_minutes", row.lockout_minutes)?,
            ip_allowlist,
            version: row.version,
            updated_at: Some(row.updated_at),
        })
    }
}

const COLUMNS: &str = "password_min_length, password_require_digit, password_require_symbol, \
                       password_require_mixed_case, session_lifetime_minutes, max_failed_logins, \
                       lockout_minutes, ip_allowlist, version, updated_at";

/// The policy of `tenant`: the stored one, or the defaults.
///
/// # Errors
/// Database errors, or a stored row this build cannot read.
pub async fn get(
    db: &Database,
    tenant: TenantId,
    auth: &AuthSettings,
) -> Result<SecurityPolicy, sqlx::Error> {
    let row: Option<PolicyRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from tenant_security_policies where tenant_id = $1"
        ))
        .bind(tenant.as_uuid())
        .fetch_optional(pool)
        .await?
    });
    row.map_or_else(
        || Ok(SecurityPolicy::defaults(auth)),
        SecurityPolicy::try_from,
    )
}

/// Whether `tenant`'s allow-list admits a client at `address` (see [`SecurityPolicy::admits`]);
/// reads only the allow-list, for the check on every request.
///
/// # Errors
/// Database errors, or a stored allow-list this build cannot read.
pub async fn admits(
    db: &Database,
    tenant: TenantId,
    address: Option<IpAddr>,
) -> Result<bool, sqlx::Error> {
    let stored: Option<String> = on_backend!(db, |pool| {
        sqlx::query_scalar("select ip_allowlist from tenant_security_policies where tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_optional(pool)
            .await?
    });
    let Some(stored) = stored else {
        return Ok(true);
    };
    let entries: Vec<String> =
        serde_json::from_str(&stored).map_err(|error| decode("ip_allowlist", error))?;
    let blocks = parse_allowlist(&entries).map_err(|error| decode("ip_allowlist", error))?;
    Ok(blocks.is_empty()
        || address.is_some_and(|address| blocks.iter().any(|block| block.contains(address))))
}

/// Stores `policy` for the tenant of the change if the stored one is still at
/// `expected_version` (0: none was stored yet), with its `admin.security_policy_changed` event.
/// Returns the stored policy, or `None` when someone changed it meanwhile.
///
/// # Errors
/// Database errors.
pub async fn put(
    db: &Database,
    change: Change<'_>,
    policy: &SecurityPolicy,
    expected_version: i64,
) -> Result<Option<SecurityPolicy>, sqlx::Error> {
    // Microseconds, as PostgreSQL stores them, so the answer matches later reads.
    let now = Utc::now().trunc_subsecs(6);
    let allowlist = serde_json::to_string(
        &policy
            .ip_allowlist
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    )
    .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let as_int = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    let sql = if expected_version == 0 {
        format!(
            "insert into tenant_security_policies (tenant_id, {COLUMNS}) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11 + 1, $10) \
             on conflict (tenant_id) do nothing"
        )
    } else {
        "update tenant_security_policies set password_min_length = $2, password_require_digit = $3, \
         password_require_symbol = $4, password_require_mixed_case = $5, \
         session_lifetime_minutes = $6, max_failed_logins = $7, lockout_minutes = $8, \
         ip_allowlist = $9, updated_at = $10, version = version + 1 \
         where tenant_id = $1 and version = $11"
            .to_owned()
    };
    let event = change.security_policy_changed(expected_version.saturating_add(1));
    let written = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let written = sqlx::query(&sql)
            .bind(change.actor.tenant_id.as_uuid())
            .bind(as_int(policy.password.min_length))
            .bind(policy.password.require_digit)
            .bind(policy.password.require_symbol)
            .bind(policy.password.require_mixed_case)
            .bind(as_int(policy.session_lifetime_minutes))
            .bind(as_int(policy.max_failed_logins))
            .bind(as_int(policy.lockout_minutes))
            .bind(&allowlist)
            .bind(now)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if written == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        written
    });
    if written == 0 {
        return Ok(None);
    }
    Ok(Some(SecurityPolicy {
        version: expected_version + 1,
        updated_at: Some(now),
        ..policy.clone()
    }))
}

/// Checks a new password against the global rules and `tenant`'s policy.
///
/// # Errors
/// The rule broken, as text for the `password` field.
pub fn check_password(
    policy: &SecurityPolicy,
    password: SecretString,
) -> Result<passwords::NewPassword, String> {
    policy
        .password
        .check(&password)
        .map_err(|violation| violation.to_string())?;
    passwords::NewPassword::parse(password).map_err(|weak| weak.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn ip_blocks_match_their_networks_only() {
        let office: IpBlock = "10.20.0.0/16".parse().unwrap();
        assert!(office.contains("10.20.3.4".parse().unwrap()));
        assert!(office.contains("::ffff:10.20.3.4".parse().unwrap()));
        assert!(!office.contains("10.21.0.1".parse().unwrap()));
        assert!(!office.contains("2001:db8::1".parse().unwrap()));
        let one: IpBlock = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6: IpBlock = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        let any: IpBlock = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("203.0.113.9".parse().unwrap()));
        assert_eq!(office.to_string(), "10.20.0.0/16");
        assert_eq!(one.to_string(), "192.0.2.7");
    }

    #[test]
    fn malformed_or_ambiguous_blocks_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "example.com",
            "::/129",
            "1.2.3",
        ] {
            assert!(bad.parse::<IpBlock>().is_err(), "{bad}");
        }
    }

    #[test]
    fn password_rules_name_what_is_missing() {
        let rules = PasswordRules {
            min_length: 12,
            require_digit: true,
            require_symbol: true,
            require_mixed_case: true,
        };
        assert_eq!(
            rules.check(&secret("Short1!")),
            Err(PolicyViolation::TooShort(12))
        );
        assert_eq!(
            rules.check(&secret("Long enough pass!")),
            Err(PolicyViolation::NoDigit)
        );
        assert_eq!(
            rules.check(&secret("Longenoughpass1")),
            Err(PolicyViolation::NoSymbol)
        );
        assert_eq!(
            rules.check(&secret("long enough pass 1")),
            Err(PolicyViolation::NoMixedCase)
        );
        assert_eq!(rules.check(&secret("Long enough pass 1")), Ok(()));
    }

    #[test]
    fn an_empty_allowlist_admits_everyone_and_a_set_one_only_its_addresses() {
        let auth = AuthSettings {
            session_lifetime: std::time::Duration::from_secs(12 * 3600),
            secure_cookies: false,
            max_failed_logins: 5,
            lockout: std::time::Duration::from_secs(900),
        };
        let mut policy = SecurityPolicy::defaults(&auth);
        assert_eq!(policy.session_lifetime_minutes, 720);
        assert_eq!(policy.lockout_minutes, 15);
        assert!(policy.admits(None));
        policy.ip_allowlist = parse_allowlist(&["10.0.0.0/8".into()]).unwrap();
        assert!(policy.admits(Some("10.1.2.3".parse().unwrap())));
        assert!(!policy.admits(Some("192.0.2.1".parse().unwrap())));
        assert!(!policy.admits(None));
        assert_eq!(
            parse_allowlist(&["10.0.0.0/8".into(), "nope".into()])
                .unwrap_err()
                .field,
            "ip_allowlist[1]"
        );
    }
}
