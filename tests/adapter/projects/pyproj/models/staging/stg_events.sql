select
    event_id,
    user_id,
    amount,
    updated_at
from {{ source('raw_app', 'events') }}
