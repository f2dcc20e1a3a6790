"""SavedModel export for TF Serving: signatures, warm-up requests, atomic versions."""
