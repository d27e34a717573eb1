"""The bounty flow's signed actions (EIP-712 structs), registered with the shared registry.

Each struct binds every field its action depends on; the URL's bounty id is signed too, so a
signature for one bounty cannot be used on another.
"""

from __future__ import annotations

from chalicelib.core.signing import Action, Field, register

CREATE = register(
    Action(
        "create_bounty",
        "CreateBounty",
        signer_field="poster",
        fields=(
            Field("poster", "address"),
            Field("title", "string"),
            Field("description", "string"),
            Field("reward", "string"),
            Field("asset", "string"),
            Field("max_winners", "uint256", default=1),
            Field("expires_at", "string"),
            Field("tags", "string[]", default=[]),
        ),
        description="POST /v1/bounties, signed by the poster",
    )
)

SUBMIT = register(
    Action(
        "submit_solution",
        "SubmitSolution",
        signer_field="submitter",
        path_field="bounty_id",
        fields=(
            Field("submitter", "address"),
            Field("message", "string"),
            Field("content_url", "string", default=""),
        ),
        description="POST /v1/bounties/{bounty_id}/submissions, signed by the submitter",
    )
)

ACCEPT = register(
    Action(
        "accept_submission",
        "AcceptSubmission",
        signer_field="poster",
        path_field="bounty_id",
        fields=(Field("poster", "address"), Field("submission_id", "string")),
        description="POST /v1/bounties/{bounty_id}/accept, signed by the poster",
    )
)

RECORD_PAYMENT = register(
    Action(
        "record_payment",
        "RecordPayment",
        signer_field="poster",
        path_field="bounty_id",
        fields=(
            Field("poster", "address"),
            Field("submission_id", "string"),
            Field("tx_hash", "string"),
        ),
        description="POST /v1/bounties/{bounty_id}/payments, signed by the poster",
    )
)

CANCEL = register(
    Action(
        "cancel_bounty",
        "CancelBounty",
        signer_field="poster",
        path_field="bounty_id",
        fields=(Field("poster", "address"),),
        description="POST /v1/bounties/{bounty_id}/cancel, signed by the poster",
    )
)
