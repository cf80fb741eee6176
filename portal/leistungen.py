"""The Leistungen of the office's other Fachbereiche (UVG registers its own from portal/uvg/).

None of these has its own online form yet: citizens reach them through the general request
form, preselected with the service, and the clearing office routes the request by its code.
Registered when the portal's views are imported (``register_all``).
"""

from __future__ import annotations

from amtsweg.translate import lazy_gettext as _l
from portal.catalogue import Leistung, register

GENERAL_REQUEST_HOW = _l(
    "Send us a request online with the button below and attach the documents you have. "
    "We will contact you. You can also call us or come to the office.")

LEISTUNGEN: tuple[Leistung, ...] = (
    Leistung(
        code="beistandschaft",
        title=_l("Apply for a Beistandschaft"),
        fachbereich_code="beistandschaft",
        # § 1712 BGB: the Jugendamt becomes Beistand on the written application of one parent.
        summary=_l("The Jugendamt helps you free of charge to establish paternity and to claim "
                   "child maintenance from the other parent, and represents your child in this "
                   "(§§ 1712 ff. BGB)."),
        who_can_apply=_l("A parent who has sole custody, or with joint custody the parent the "
                         "child lives with. Expectant mothers can apply before the birth."),
        documents=(_l("Birth certificate of the child"),
                   _l("Maintenance title or agreement, if there is one"),
                   _l("What you know about the other parent's income and address")),
        how_to_apply=_l("The application must be in writing. Send it to us online with the "
                        "button below. We will then contact you for a first talk."),
        keywords=("Unterhalt", "Vaterschaft"),
    ),
    Leistung(
        code="beurkundung",
        title=_l("Certification (paternity, maintenance, joint custody)"),
        fachbereich_code="beistandschaft",
        # § 59 SGB VIII: the Jugendamt certifies these declarations free of charge.
        summary=_l("The Jugendamt certifies free of charge: the acknowledgement of paternity, "
                   "a maintenance obligation for a child and the declaration of joint custody "
                   "(Sorgeerklärung) (§ 59 SGB VIII)."),
        who_can_apply=_l("Parents and expectant parents. For an acknowledgement of paternity "
                         "and a Sorgeerklärung both parents must come in person."),
        documents=(_l("Identity card or passport of each parent"),
                   _l("Birth certificate of the child, or the maternity record before the "
                      "birth"),
                   _l("For a maintenance obligation: proof of income")),
        how_to_apply=_l("Ask for an appointment online with the button below. A certification "
                        "always takes place in person at the office."),
        keywords=("Vaterschaftsanerkennung", "Sorgeerklärung", "Unterhaltsurkunde"),
    ),
    Leistung(
        code="vormundschaft",
        title=_l("Guardianship and curatorship (Vormundschaft, Pflegschaft)"),
        fachbereich_code="vormundschaft",
        summary=_l("If no parent can look after a child's affairs, the family court appoints a "
                   "guardian. The Jugendamt is the guardian when nobody else is suitable, and it "
                   "advises volunteer guardians (§§ 1773 ff. BGB, § 55 SGB VIII)."),
        who_can_apply=_l("Young people under guardianship, relatives, and anyone who wants to "
                         "become a volunteer guardian."),
        documents=(_l("Decision of the family court, if you have it"),),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Amtsvormund", "Ergänzungspflegschaft"),
    ),
    Leistung(
        code="hilfe_zur_erziehung",
        title=_l("Help with bringing up a child (Hilfe zur Erziehung)"),
        fachbereich_code="wjh",
        # § 27 SGB VIII: a claim of the parents when the child's upbringing is not ensured.
        summary=_l("Support for families when a child's upbringing is not ensured: for example "
                   "family help at home, a day group, or a place in a foster family or a home "
                   "(§ 27 SGB VIII). Together with you we plan which help fits (§ 36 SGB VIII)."),
        who_can_apply=_l("Parents who have custody of the child."),
        documents=(_l("Birth certificate of the child"),
                   _l("Proof of custody, if you are not married to the other parent"),
                   _l("Proof of income, for the contribution to the costs")),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Erziehungshilfe", "Kostenbeitrag"),
    ),
    Leistung(
        code="kita_gebuehren",
        title=_l("Payment of childcare fees (Kita, Tagespflege)"),
        fachbereich_code="wjh",
        # § 90 Abs. 3 and 4 SGB VIII: fees are paid where they cannot reasonably be expected;
        # families on Bürgergeld, Sozialhilfe, Wohngeld or Kinderzuschlag pay none.
        summary=_l("If your income is low, the Jugendamt pays the fees for a Kita or a "
                   "childminder in full or in part (§ 90 SGB VIII)."),
        who_can_apply=_l("Parents with a low income. If you receive Bürgergeld, Sozialhilfe, "
                         "Wohngeld or Kinderzuschlag, you do not have to pay any fees."),
        documents=(_l("Childcare contract with the monthly fee"),
                   _l("Proof of the income of everyone in the household"),
                   _l("Your current Bescheid on Bürgergeld, Sozialhilfe, Wohngeld or "
                      "Kinderzuschlag, if you have one")),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Kindergarten", "Krippe", "Elternbeitrag"),
    ),
    Leistung(
        code="asd_beratung",
        title=_l("Advice from the general social service (ASD)"),
        fachbereich_code="asd",
        summary=_l("Advice for parents, children and young people on upbringing, separation, "
                   "conflicts in the family or other worries. Free of charge and confidential "
                   "(§§ 16–18 SGB VIII)."),
        who_can_apply=_l("Everyone in the district: parents, children, young people and "
                         "anyone who worries about a child. In an emergency, call 110."),
        how_to_apply=_l("Write to us with the button below, or call us. A social worker will "
                        "contact you."),
        keywords=("Familie", "Trennung", "Kinderschutz"),
    ),
    Leistung(
        code="jugendgerichtshilfe",
        title=_l("Youth court assistance (Jugendgerichtshilfe)"),
        fachbereich_code="jgh",
        # § 52 SGB VIII and § 38 JGG: the Jugendamt takes part in proceedings under the JGG.
        summary=_l("If a young person is accused of a crime, the Jugendamt supports them and "
                   "their parents through the proceedings and speaks at court (§ 52 SGB VIII, "
                   "§ 38 JGG)."),
        who_can_apply=_l("Young people from 14 to 20 years and their parents."),
        documents=(_l("Summons or letter of the police, the public prosecutor or the court, "
                      "if you have it"),),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("JGH", "Jugendstrafverfahren"),
    ),
    Leistung(
        code="hilfe_zum_lebensunterhalt",
        title=_l("Subsistence assistance (Hilfe zum Lebensunterhalt)"),
        fachbereich_code="sozialhilfe",
        # §§ 27 ff. SGB XII: for those who cannot work for now and get no Bürgergeld.
        summary=_l("Money for food, clothing, housing and heating for people who cannot "
                   "support themselves and who cannot get Bürgergeld, for example because "
                   "they are temporarily unable to work (§§ 27 ff. SGB XII)."),
        who_can_apply=_l("People who cannot work for now for health reasons and have no "
                         "sufficient income or assets."),
        documents=(_l("Identity card or passport"), _l("Rental contract"),
                   _l("Proof of income and assets"),
                   _l("Bank statements of the last three months")),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Sozialhilfe", "SGB XII"),
    ),
    Leistung(
        code="grundsicherung",
        title=_l("Basic income support in old age and for reduced earning capacity"),
        fachbereich_code="sozialhilfe",
        # §§ 41 ff. SGB XII (Grundsicherung im Alter und bei Erwerbsminderung).
        summary=_l("Grundsicherung covers the basic needs of people past the retirement age "
                   "or permanently unable to work whose income is not enough (§§ 41 ff. "
                   "SGB XII)."),
        who_can_apply=_l("People who have reached the standard retirement age, and adults who "
                         "are permanently fully unable to work."),
        documents=(_l("Identity card or passport"), _l("Pension notice"),
                   _l("Rental contract"), _l("Proof of income and assets"),
                   _l("Bank statements of the last three months")),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Sozialhilfe", "Rente"),
    ),
    Leistung(
        code="wohngeld_mietzuschuss",
        title=_l("Wohngeld as rent allowance (Mietzuschuss)"),
        fachbereich_code="wohngeld",
        summary=_l("A monthly allowance towards the rent for households with a low income "
                   "(Wohngeldgesetz)."),
        who_can_apply=_l("Tenants with a low income who do not receive Bürgergeld or "
                         "Sozialhilfe."),
        documents=(_l("Rental contract"), _l("Certificate of the rent from your landlord"),
                   _l("Proof of the income of everyone in the household"),
                   _l("Identity card or passport")),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Miete", "WoGG"),
    ),
    Leistung(
        code="wohngeld_lastenzuschuss",
        title=_l("Wohngeld as allowance for home owners (Lastenzuschuss)"),
        fachbereich_code="wohngeld",
        summary=_l("A monthly allowance towards the costs of a house or flat you own and live "
                   "in, for households with a low income (Wohngeldgesetz)."),
        who_can_apply=_l("Owners who live in their own home and have a low income."),
        documents=(_l("Loan contracts and proof of the yearly interest and repayment"),
                   _l("Property tax notice"),
                   _l("Proof of the income of everyone in the household"),
                   _l("Identity card or passport")),
        how_to_apply=GENERAL_REQUEST_HOW,
        keywords=("Eigentum", "WoGG"),
    ),
)


def register_all() -> None:
    for leistung in LEISTUNGEN:
        register(leistung)
