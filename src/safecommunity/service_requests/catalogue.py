"""The kinds of request residents file (DESIGN.md, issue 4), with their attribute definitions:
data, written by migration ``0002_seed_services`` and again by
``services.service_catalogue_ensure`` when a flush emptied the table (``flush`` empties the
rows data migrations wrote). A change here that should reach existing databases needs a
migration of its own.
"""

from typing import Any

# Kinds whose details would point at a vulnerable person's home: public reads hide them.
PRIVATE = {"elderly", "keys", "residence_certificate"}

YES_NO = [
    {"key": "yes", "name": "是", "name_en": "Yes"},
    {"key": "no", "name": "否", "name_en": "No"},
]

# code, zh, en, group, days, reinspection, description zh, description en, attributes
# attribute: code, datatype, required, zh, en, values
SERVICES: list[tuple[Any, ...]] = [
    (
        "elderly",
        "老人帮扶",
        "Help for an elderly person",
        "care",
        3,
        False,
        "为老人提供帮助：代购、陪同就医、代签字、小修小补等。",
        "Help for an elderly resident: shopping, escort to hospital, signing for them, small repairs.",
        [
            (
                "need",
                "singlevaluelist",
                True,
                "需要什么帮助",
                "What help is needed",
                [
                    {"key": "shopping", "name": "代购", "name_en": "Shopping"},
                    {"key": "hospital", "name": "陪同就医", "name_en": "Escort to hospital"},
                    {"key": "signing", "name": "代签字、代办", "name_en": "Signing or errands"},
                    {
                        "key": "repair",
                        "name": "小修小补（扶手等）",
                        "name_en": "Small repairs (handrails…)",
                    },
                    {"key": "company", "name": "探望陪伴", "name_en": "Company"},
                    {"key": "other", "name": "其他", "name_en": "Other"},
                ],
            ),
            ("living_alone", "singlevaluelist", False, "是否独居", "Lives alone", YES_NO),
        ],
    ),
    (
        "keys",
        "钥匙代管",
        "Key custody",
        "care",
        2,
        False,
        "请警务室代为保管钥匙或物品。",
        "Ask the police office to keep keys or an item for you.",
        [
            ("item", "string", True, "保管什么", "What to keep", []),
            ("until", "datetime", False, "保管到何时", "Keep until", []),
        ],
    ),
    (
        "hazard",
        "安全隐患",
        "Safety hazard",
        "safety",
        3,
        False,
        "消防、燃气、用电、房屋、交通等安全隐患。",
        "A fire, gas, electrical, building or traffic hazard.",
        [
            (
                "hazard_kind",
                "singlevaluelist",
                True,
                "隐患类型",
                "Kind of hazard",
                [
                    {"key": "fire", "name": "消防", "name_en": "Fire"},
                    {"key": "gas", "name": "燃气", "name_en": "Gas"},
                    {"key": "electric", "name": "用电", "name_en": "Electricity"},
                    {"key": "building", "name": "房屋", "name_en": "Building"},
                    {"key": "traffic", "name": "交通", "name_en": "Traffic"},
                    {"key": "other", "name": "其他", "name_en": "Other"},
                ],
            ),
            ("urgent", "singlevaluelist", False, "是否紧急", "Urgent", YES_NO),
        ],
    ),
    (
        "noise",
        "噪声扰民",
        "Noise",
        "order",
        3,
        False,
        "邻里、施工、经营场所等噪声扰民。",
        "Noise from neighbours, building work or a business.",
        [
            (
                "noise_source",
                "singlevaluelist",
                True,
                "噪声来源",
                "Source of the noise",
                [
                    {"key": "neighbours", "name": "邻居", "name_en": "Neighbours"},
                    {"key": "construction", "name": "施工", "name_en": "Building work"},
                    {"key": "business", "name": "经营场所", "name_en": "A business"},
                    {"key": "traffic", "name": "交通", "name_en": "Traffic"},
                    {"key": "other", "name": "其他", "name_en": "Other"},
                ],
            ),
            (
                "time_of_day",
                "multivaluelist",
                False,
                "什么时候",
                "When",
                [
                    {"key": "day", "name": "白天", "name_en": "Daytime"},
                    {"key": "evening", "name": "晚上", "name_en": "Evening"},
                    {"key": "night", "name": "夜间", "name_en": "Night"},
                ],
            ),
        ],
    ),
    (
        "illegal_structure",
        "违章建筑",
        "Illegal structure",
        "order",
        30,
        True,
        "私搭乱建、违规加建。限期整改，到期复查。",
        "An unauthorised extension or shed; a rectification deadline, then a re-inspection.",
        [
            (
                "structure_kind",
                "singlevaluelist",
                True,
                "违建类型",
                "Kind of structure",
                [
                    {"key": "extension", "name": "加建扩建", "name_en": "Extension"},
                    {"key": "rooftop", "name": "楼顶搭建", "name_en": "On the roof"},
                    {"key": "balcony", "name": "封闭外扩阳台", "name_en": "Enclosed balcony"},
                    {"key": "shed", "name": "棚亭", "name_en": "Shed"},
                    {"key": "other", "name": "其他", "name_en": "Other"},
                ],
            ),
            ("rectification_deadline", "datetime", False, "整改期限", "Rectification deadline", []),
        ],
    ),
    (
        "lost_found",
        "失物招领",
        "Lost and found",
        "care",
        7,
        False,
        "丢失或拾到物品。",
        "Something lost or found.",
        [
            (
                "lost_or_found",
                "singlevaluelist",
                True,
                "丢失还是拾到",
                "Lost or found",
                [
                    {"key": "lost", "name": "丢失", "name_en": "Lost"},
                    {"key": "found", "name": "拾到", "name_en": "Found"},
                ],
            ),
            ("item", "string", True, "什么物品", "What item", []),
            ("when", "datetime", False, "什么时候", "When", []),
        ],
    ),
    (
        "residence_certificate",
        "居住证明",
        "Certificate of residence",
        "certificates",
        5,
        False,
        "开具居住证明。",
        "A certificate that you live at an address.",
        [
            (
                "purpose",
                "singlevaluelist",
                True,
                "用途",
                "Purpose",
                [
                    {"key": "school", "name": "入学", "name_en": "School"},
                    {"key": "employment", "name": "就业", "name_en": "Employment"},
                    {"key": "insurance", "name": "社保医保", "name_en": "Social insurance"},
                    {"key": "other", "name": "其他", "name_en": "Other"},
                ],
            ),
        ],
    ),
    (
        "other",
        "其他诉求",
        "Other",
        "other",
        7,
        False,
        "其他需要社区民警帮助的事。",
        "Anything else your community officer can help with.",
        [],
    ),
]


def catalogue_write(Service: Any, ServiceAttribute: Any) -> None:  # noqa: N803  # model classes
    """Write the catalogue with the given models: the migration's historical ones, or the
    app's own to write it again into a database whose rows were flushed away."""
    for order, (code, zh, en, group, days, reinspect, desc, desc_en, attrs) in enumerate(
        SERVICES, start=1
    ):
        service = Service.objects.create(
            service_code=code,
            name_zh=zh,
            name_en=en,
            description=desc,
            description_en=desc_en,
            group=group,
            type="realtime",
            keywords=f"{zh},{en}",
            expected_days=days,
            needs_reinspection=reinspect,
            public_details=code not in PRIVATE,
            order=order,
        )
        for position, (a_code, datatype, required, a_zh, a_en, values) in enumerate(attrs, 1):
            ServiceAttribute.objects.create(
                service=service,
                code=a_code,
                datatype=datatype,
                required=required,
                description=a_zh,
                description_en=a_en,
                datatype_description="YYYY-MM-DD" if datatype == "datetime" else "",
                order=position,
                values=values,
            )
