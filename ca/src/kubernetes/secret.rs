//! The CA state in a Secret, written with optimistic concurrency on `resourceVersion`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::api::{Api, ObjectMeta, PostParams};

use super::{call, ApiFailure, TRUST_KEY};
use crate::state::{CaState, StateError, STATE_FILE};

/// Largest state accepted from the Secret (a Secret holds at most 1 MiB anyway).
const MAX_STATE_BYTES: usize = 1024 * 1024;

/// The Secret holding the CA state.
#[derive(Clone)]
pub struct SecretStore {
    api: Api<Secret>,
    namespace: String,
    name: String,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretStore({}/{})", self.namespace, self.name)
    }
}

/// A state read from the Secret with the `resourceVersion` it was read at.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The state.
    pub state: CaState,
    /// The Secret's `resourceVersion`.
    pub resource_version: String,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Someone else wrote first (`409`): re-read and try again.
    #[error("the state Secret changed since it was read")]
    Conflict,
    /// Anything else.
    #[error(transparent)]
    State(#[from] StateError),
}

fn api_error(e: ApiFailure) -> StateError {
    StateError::Api(e.to_string())
}

impl SecretStore {
    /// The Secret `name` in `namespace`.
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        SecretStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// `namespace/name`, for messages.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The Secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The API of Secrets in the CA's namespace.
    pub fn api(&self) -> &Api<Secret> {
        &self.api
    }

    fn corrupt(&self, reason: impl Into<String>) -> StateError {
        StateError::CorruptSecret {
            secret: self.describe(),
            reason: reason.into(),
        }
    }

    /// Parses and validates a Secret's state; [`StateError::CorruptSecret`] when it does not.
    pub fn parse(&self, secret: &Secret) -> Result<Versioned, StateError> {
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(STATE_FILE))
            .ok_or_else(|| self.corrupt(format!("no {STATE_FILE} key")))?;
        if bytes.0.len() > MAX_STATE_BYTES {
            return Err(self.corrupt("state is implausibly large"));
        }
        let state: CaState = serde_json::from_slice(&bytes.0)
            .map_err(|e| self.corrupt(format!("not valid state JSON ({e})")))?;
        state.validate().map_err(|r| self.corrupt(r))?;
        let resource_version = secret
            .metadata
            .resource_version
            .clone()
            .ok_or_else(|| self.corrupt("no resourceVersion"))?;
        Ok(Versioned {
            state,
            resource_version,
        })
    }

    /// Reads the state; `Ok(None)` when the Secret does not exist.
    pub async fn load(&self) -> Result<Option<Versioned>, StateError> {
        match call(self.api.get_opt(&self.name))
            .await
            .map_err(api_error)?
        {
            Some(s) => self.parse(&s).map(Some),
            None => Ok(None),
        }
    }

    fn secret(
        &self,
        state: &CaState,
        now: i64,
        resource_version: Option<String>,
    ) -> Result<Secret, StateError> {
        let json = serde_json::to_vec(state).map_err(|e| StateError::Api(e.to_string()))?;
        Ok(Secret {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/name".to_owned(), "phimesh-ca".to_owned()),
                    ("app.kubernetes.io/part-of".to_owned(), "phimesh".to_owned()),
                ])),
                resource_version,
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(BTreeMap::from([
                (STATE_FILE.to_owned(), ByteString(json)),
                (
                    TRUST_KEY.to_owned(),
                    ByteString(state.bundle_pem(now).into_bytes()),
                ),
            ])),
            ..Default::default()
        })
    }

    /// Creates the Secret with `state` (generation bumped). [`WriteError::Conflict`] when it
    /// exists already.
    pub async fn create(&self, state: &mut CaState, now: i64) -> Result<String, WriteError> {
        let mut next = state.clone();
        next.generation += 1;
        let secret = self.secret(&next, now, None)?;
        match call(self.api.create(&PostParams::default(), &secret)).await {
            Ok(s) => {
                *state = next;
                Ok(s.metadata.resource_version.unwrap_or_default())
            }
            Err(e) if e.is_conflict() => Err(WriteError::Conflict),
            Err(e) => Err(api_error(e).into()),
        }
    }

    /// Replaces the Secret with `state` (generation bumped) if it is still at
    /// `resource_version`; [`WriteError::Conflict`] otherwise. Returns the new version.
    pub async fn replace(
        &self,
        state: &mut CaState,
        resource_version: &str,
        now: i64,
    ) -> Result<String, WriteError> {
        let mut next = state.clone();
        next.generation += 1;
        let secret = self.secret(&next, now, Some(resource_version.to_owned()))?;
        match call(
            self.api
                .replace(&self.name, &PostParams::default(), &secret),
        )
        .await
        {
            Ok(s) => {
                *state = next;
                Ok(s.metadata.resource_version.unwrap_or_default())
            }
            Err(e) if e.is_conflict() => Err(WriteError::Conflict),
            Err(e) => Err(api_error(e).into()),
        }
    }

    /// Reads the state, applies `change` and writes it back, re-reading and re-applying on
    /// every conflict (at most `attempts` times). `change` returns whether it changed anything;
    /// nothing is written when it did not. Returns the state written (or read) and its version,
    /// and how many conflicts were met.
    pub async fn update<F>(
        &self,
        mut current: Versioned,
        now: i64,
        attempts: u32,
        mut change: F,
    ) -> Result<(Versioned, bool, u32), (StateError, u32)>
    where
        F: FnMut(&mut CaState) -> Result<bool, StateError>,
    {
        let mut conflicts = 0;
        loop {
            let mut next = current.state.clone();
            let changed = change(&mut next).map_err(|e| (e, conflicts))?;
            if !changed {
                return Ok((current, false, conflicts));
            }
            match self
                .replace(&mut next, &current.resource_version, now)
                .await
            {
                Ok(rv) => {
                    return Ok((
                        Versioned {
                            state: next,
                            resource_version: rv,
                        },
                        true,
                        conflicts,
                    ))
                }
                Err(WriteError::Conflict) => {
                    conflicts += 1;
                    tracing::warn!(
                        secret = %self.describe(),
                        conflicts,
                        "CA state Secret changed under this write; re-reading it and applying the change again"
                    );
                    if conflicts >= attempts {
                        return Err((
                            StateError::Api(format!(
                                "{} conflicting writes in a row on Secret {}",
                                conflicts,
                                self.describe()
                            )),
                            conflicts,
                        ));
                    }
                    current = match self.load().await {
                        Ok(Some(v)) => v,
                        Ok(None) => {
                            return Err((
                                StateError::Api(format!("Secret {} was deleted", self.describe())),
                                conflicts,
                            ))
                        }
                        Err(e) => return Err((e, conflicts)),
                    };
                }
                Err(WriteError::State(e)) => return Err((e, conflicts)),
            }
        }
    }
}
