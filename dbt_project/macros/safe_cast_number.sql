{#
    Cast a decimal string (as NeoWs delivers distances, velocities and orbital elements, e.g. ".149562",
    "65169937.962262887", "1.2E-3") to double precision; anything else (empty, junk) becomes null instead
    of failing every query on the view. A not_null test on the column then shows the bad values.
#}
{% macro safe_cast_number(expression) -%}
    case
        when trim({{ expression }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'
            then trim({{ expression }})::double precision
    end
{%- endmacro %}
