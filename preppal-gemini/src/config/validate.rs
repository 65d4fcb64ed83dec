//! [`LiveConfig::validate`]: the combinations the service refuses, found before dialing.

use super::{model_resource_name, LiveConfig};

/// A [`LiveConfig`] that a model family or endpoint refuses, found before dialing
/// ([`LiveConfig::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An ephemeral token needs the `v1alpha` `BidiGenerateContentConstrained` endpoint
    /// ([`EPHEMERAL_TOKEN_ENDPOINT`](super::EPHEMERAL_TOKEN_ENDPOINT), §1.1, §1.2).
    #[error("an ephemeral token needs the v1alpha BidiGenerateContentConstrained endpoint, not {endpoint}")]
    TokenNeedsConstrainedEndpoint {
        /// The configured endpoint.
        endpoint: String,
    },
    /// An API key on the `BidiGenerateContentConstrained` endpoint, which takes ephemeral
    /// tokens only (§1.1).
    #[error("the BidiGenerateContentConstrained endpoint takes ephemeral tokens, not API keys")]
    KeyOnConstrainedEndpoint,
    /// A feature that needs the `v1alpha` surface on another endpoint (§1.1, §1.4).
    #[error("{feature} needs the v1alpha endpoint")]
    NeedsV1alpha {
        /// The setup field: `enableAffectiveDialog` or `proactivity.proactiveAudio`.
        feature: &'static str,
    },
    /// A feature the model family does not support (§1.4, §3.1).
    #[error("{feature} is not supported on {model}")]
    UnsupportedOnModel {
        /// The setup field.
        feature: &'static str,
        /// The model resource name.
        model: String,
    },
    /// A model that was shut down (§1.4: the half-cascade Live models, 2025-12-09).
    #[error("{model} was shut down; use {replacement}")]
    RetiredModel {
        /// The model resource name.
        model: String,
        /// Its replacement.
        replacement: &'static str,
    },
    /// A Vertex AI model id, not valid on the Gemini Developer API (§1.4).
    #[error("{model} is a Vertex AI model id, not valid on generativelanguage.googleapis.com")]
    VertexModel {
        /// The model resource name.
        model: String,
    },
    /// A model that exists but is not a Live model (a REST `generateContent` model of
    /// [`crate::models::REST_MODELS`]).
    #[error("{model} is not a Live model (it does not support bidiGenerateContent)")]
    NotALiveModel {
        /// The model resource name.
        model: String,
    },
    /// A Live model that cannot answer with audio, the interview's only modality
    /// (a transcription-only model, [`crate::models::LiveModel::modalities`]).
    #[error("{model} does not support the response modality {modality}")]
    UnsupportedModality {
        /// The model resource name.
        model: String,
        /// The modality asked for (`AUDIO`).
        modality: &'static str,
    },
}

impl LiveConfig {
    /// Checks, before dialing, combinations the service refuses (gemini-live-protocol notes
    /// §1.1, §1.2, §1.4, §3.1). [`crate::LiveConnection::connect`] calls it first. (A malformed
    /// endpoint or credential is reported by [`crate::client::upgrade_request`] as
    /// [`crate::LiveError::InvalidConfig`].)
    ///
    /// # Errors
    /// - [`ConfigError::TokenNeedsConstrainedEndpoint`] / [`ConfigError::KeyOnConstrainedEndpoint`]:
    ///   an ephemeral token off, or an API key on, the v1alpha constrained endpoint;
    /// - [`ConfigError::NeedsV1alpha`]: affective dialog or proactive audio on v1beta;
    /// - [`ConfigError::UnsupportedOnModel`]: a feature the model's entry in
    ///   [`crate::models::LIVE_MODELS`] rejects (affective dialog or proactive audio on 3.1
    ///   or 3.8, a thinking level on a model that takes none);
    /// - [`ConfigError::RetiredModel`]: a model the table lists as shut down, with its
    ///   replacement;
    /// - [`ConfigError::NotALiveModel`]: a REST model ([`crate::models::REST_MODELS`]);
    /// - [`ConfigError::UnsupportedModality`]: a Live model that cannot answer with audio;
    /// - [`ConfigError::VertexModel`]: a Vertex AI model id (`gemini-live-...`).
    ///
    /// A model the table does not know passes (the table may lag the service).
    ///
    /// ```
    /// use preppal_gemini::config::ConfigError;
    /// let c = preppal_gemini::LiveConfig::new("k", "s").with_model("gemini-3.1-flash-live-preview")
    ///     .with_endpoint(preppal_gemini::config::DEFAULT_ENDPOINT.replace("v1beta", "v1alpha"))
    ///     .with_affective_dialog(true);
    /// assert!(matches!(c.validate(), Err(ConfigError::UnsupportedOnModel { .. })));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let endpoint = self.endpoint.trim();
        let path = endpoint.split(['?', '#']).next().unwrap_or(endpoint);
        let constrained = path.ends_with("BidiGenerateContentConstrained");
        let v1alpha = path.contains(".v1alpha.");
        if self.is_ephemeral_token() && !(constrained && v1alpha) {
            return Err(ConfigError::TokenNeedsConstrainedEndpoint {
                endpoint: self.endpoint.clone(),
            });
        }
        if constrained && !self.api_key.is_empty() && !self.is_ephemeral_token() {
            return Err(ConfigError::KeyOnConstrainedEndpoint);
        }
        let model = model_resource_name(&self.model);
        let Some(entry) = crate::models::live_model(&model) else {
            return self.validate_unknown_model(model, v1alpha);
        };
        if let crate::models::Availability::ShutDown { replacement, .. } = entry.availability {
            return Err(ConfigError::RetiredModel { model, replacement });
        }
        if !entry.supports(crate::models::Modality::Audio) {
            return Err(ConfigError::UnsupportedModality {
                model,
                modality: "AUDIO",
            });
        }
        for (on, feature, support) in [
            (
                self.affective_dialog,
                "enableAffectiveDialog",
                entry.affective_dialog,
            ),
            (
                self.proactive_audio,
                "proactivity.proactiveAudio",
                entry.proactive_audio,
            ),
        ] {
            match support {
                _ if !on => {}
                crate::models::Feature::AlwaysOn => {}
                crate::models::Feature::V1alphaOptIn if v1alpha => {}
                crate::models::Feature::V1alphaOptIn => {
                    return Err(ConfigError::NeedsV1alpha { feature });
                }
                _ => return Err(ConfigError::UnsupportedOnModel { feature, model }),
            }
        }
        if self.thinking_level.is_some()
            && matches!(
                entry.thinking,
                crate::models::Thinking::Rejected | crate::models::Thinking::BudgetOnly
            )
        {
            return Err(ConfigError::UnsupportedOnModel {
                feature: "thinkingConfig.thinkingLevel",
                model,
            });
        }
        Ok(())
    }

    /// [`LiveConfig::validate`] for a model the table does not know: REST and Vertex ids are
    /// refused; any other name passes (the table may lag the service), with the v1alpha
    /// rule for affective dialog and proactive audio.
    fn validate_unknown_model(&self, model: String, v1alpha: bool) -> Result<(), ConfigError> {
        if crate::models::rest_model(&model).is_some() {
            return Err(ConfigError::NotALiveModel { model });
        }
        if model.starts_with("models/gemini-live-") {
            return Err(ConfigError::VertexModel { model });
        }
        for (on, feature) in [
            (self.affective_dialog, "enableAffectiveDialog"),
            (self.proactive_audio, "proactivity.proactiveAudio"),
        ] {
            if on && !v1alpha {
                return Err(ConfigError::NeedsV1alpha { feature });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ThinkingLevel, DEFAULT_ENDPOINT, DEFAULT_MODEL, EPHEMERAL_TOKEN_ENDPOINT};

    #[test]
    fn combinations_the_service_refuses_are_refused_before_dialing() {
        let v1alpha = DEFAULT_ENDPOINT.replace("v1beta", "v1alpha");
        let ok = LiveConfig::new("k", "s");
        assert_eq!(ok.validate(), Ok(()));
        // Ephemeral tokens: v1alpha constrained endpoint only; API keys never there.
        assert!(matches!(
            LiveConfig::new("auth_tokens/t", "s").validate(),
            Err(ConfigError::TokenNeedsConstrainedEndpoint { .. })
        ));
        assert!(matches!(
            LiveConfig::new("auth_tokens/t", "s")
                .with_endpoint(EPHEMERAL_TOKEN_ENDPOINT.replace("v1alpha", "v1beta"))
                .validate(),
            Err(ConfigError::TokenNeedsConstrainedEndpoint { .. })
        ));
        assert_eq!(
            LiveConfig::with_ephemeral_token("auth_tokens/t", "s").validate(),
            Ok(())
        );
        assert_eq!(
            LiveConfig::new("AIzaKEY", "s")
                .with_endpoint(EPHEMERAL_TOKEN_ENDPOINT)
                .validate(),
            Err(ConfigError::KeyOnConstrainedEndpoint)
        );
        // Affective dialog and proactive audio: v1alpha, and not on 3.1 or 3.8.
        let ok = ok.with_model("gemini-2.5-flash-native-audio-preview-12-2025");
        assert_eq!(
            ok.clone().with_affective_dialog(true).validate(),
            Err(ConfigError::NeedsV1alpha {
                feature: "enableAffectiveDialog"
            })
        );
        assert_eq!(
            ok.clone()
                .with_endpoint(v1alpha.clone())
                .with_proactive_audio(true)
                .validate(),
            Ok(())
        );
        assert_eq!(
            ok.clone()
                .with_endpoint(v1alpha)
                .with_model("gemini-3.1-flash-live-preview")
                .with_proactive_audio(true)
                .validate(),
            Err(ConfigError::UnsupportedOnModel {
                feature: "proactivity.proactiveAudio",
                model: "models/gemini-3.1-flash-live-preview".into()
            })
        );
        // Retired and Vertex model ids.
        assert!(matches!(
            ok.clone()
                .with_model("gemini-2.0-flash-live-001")
                .validate(),
            Err(ConfigError::RetiredModel { .. })
        ));
        assert!(matches!(
            ok.clone()
                .with_model("gemini-live-2.5-flash-preview")
                .validate(),
            Err(ConfigError::RetiredModel { .. })
        ));
        // The current models: no affective dialog on 3.8, proactive audio always on.
        let current = LiveConfig::new("k", "s").with_endpoint(v1alpha_endpoint());
        assert_eq!(
            current.clone().with_affective_dialog(true).validate(),
            Err(ConfigError::UnsupportedOnModel {
                feature: "enableAffectiveDialog",
                model: DEFAULT_MODEL.into()
            })
        );
        assert_eq!(
            current.clone().with_proactive_audio(true).validate(),
            Ok(())
        );
        assert!(matches!(
            current
                .clone()
                .with_thinking_level(ThinkingLevel::Low)
                .validate(),
            Err(ConfigError::UnsupportedOnModel { .. })
        ));
        assert_eq!(
            current.clone().with_model("gemini-3.8-flash").validate(),
            Err(ConfigError::NotALiveModel {
                model: "models/gemini-3.8-flash".into()
            })
        );
        assert!(matches!(
            current
                .clone()
                .with_model("gemini-3.5-transcribe-live")
                .validate(),
            Err(ConfigError::UnsupportedModality { .. })
        ));
        assert_eq!(
            current.with_model("gemini-2.0-flash-live-001").validate(),
            Err(ConfigError::RetiredModel {
                model: "models/gemini-2.0-flash-live-001".into(),
                replacement: "gemini-3.8-live"
            })
        );
        assert_eq!(
            ok.with_model("gemini-live-2.5-flash-native-audio")
                .validate(),
            Err(ConfigError::VertexModel {
                model: "models/gemini-live-2.5-flash-native-audio".into()
            })
        );
    }

    fn v1alpha_endpoint() -> String {
        DEFAULT_ENDPOINT.replace("v1beta", "v1alpha")
    }
}
