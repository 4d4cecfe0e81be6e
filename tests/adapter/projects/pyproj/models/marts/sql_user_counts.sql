-- a SQL table model downstream of a Python model
select
    user_id,
    events
from {{ ref('py_user_totals') }}
