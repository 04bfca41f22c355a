"""The words that point to each intent, per language: data for chalicelib/rules/intent.py.

Patterns are regular expressions over *folded* text (lower case, diacritics removed, `ł` -> `l`),
since customers often type without diacritics. Each has a weight: how strongly it alone suggests
the intent. They were written against tools/nlp/intent_dev.jsonl and are measured on the held-out
set in tests/data/nlp; add a word only with a labelled post that needs it.
"""

from __future__ import annotations

Cue = tuple[float, str]
Cues = dict[str, list[Cue]]

# Whatever the language: links, money-making bait, follower schemes, irony.
UNIVERSAL: Cues = {
    "spam": [
        (1.4, r"https?://|www\.|\b[a-z0-9-]+\.(?:ly|io|xyz|top|click|link|biz|info|site|online|shop|example|co)\b"),
        (1.4, r"\b(?:bitcoin|btc|crypto\w*|cripto\w*|krypto\w*|forex|usdt|nft|airdrop|onlyfans|f4f|l4l|x100)\b"),
        (
            1.2,
            r"\b\d+\s?(?:k|tys\.?|mil)?\s?(?:followers?|seguidores|followeru|obserwujacych|sledujicich|likes|curtidas)\b",
        ),
        (0.8, r"[💰💸🤑💵🚀🎰🔞]"),
        (0.6, r"\+\d[\d ]{8,}"),
        (1.0, r"\b(?:dm|pv|direct|inbox|bio|biu)\b.{0,12}$|\binfo (?:v|w|in|no|na|en) (?:dm|bio|biu|pv|direct)\b"),
    ],
    "praise": [
        (0.8, r"[❤😍🥰💯👏🙌🤩💚💙😋💕✨]|<3"),
        (0.5, r"👍|⭐|🌟|😊|🙂|😀"),
        (1.4, r"\b10/10\b|\b5/5\b|\bchapeau\b"),
    ],
    "complaint": [
        (0.8, r"[😡🤬😤👎💩😩😕😒🤦]"),
        (1.0, r"🙃|🙄"),  # irony: "great job guys 🙃"
        (0.4, r"!!+|\?{2,}|\?!"),
    ],
    "other": [
        (1.8, r"^@[\w.]+[\s,:]+(?:look|olha|olhem|mira|guarda|koukej|podivej|patrz|zobacz)\b"),
    ],
}

LANGUAGES: dict[str, Cues] = {
    "en": {
        "cancel_intent": [
            (
                2.4,
                r"\b(?:want|wanna|going|need|trying|how (?:do|can) i|would like|i'?d like|please|help me) (?:to )?(?:cancel|end|terminate|close|stop)\b",
            ),
            (2.2, r"\bcancel (?:my|the|our|this|order|it)\b(?! (?:flight|order was))"),
            (
                2.2,
                r"\b(?:unsubscrib\w*|opt(?:ing)? out|remove me from|remove my (?:number|email|details)|stop (?:texting|emailing|sending|calling) me)\b",
            ),
            (
                2.2,
                r"\b(?:close|delete|terminate|deactivate|end|cancel) (?:my|our|both my) (?:\w+ )?(?:account|accounts|contract|subscription|plan|membership|data)",
            ),
            (
                2.2,
                r"\b(?:switch\w*|moving|going|port\w*|taking my (?:business|money)) (?:my number |everything |over )?to (?:another|a (?:different|new)|the competition|\w+ (?:bank|mobile|telecom|provider|union))\b",
            ),
            (2.0, r"\bport(?:ing)? (?:my number )?out\b|\bmoving my number\b|\btransfer pin\b|\bpac code\b"),
            (2.0, r"\b(?:i'?m|im|we'?re) (?:leaving|done with|out of here|switching|cancell?ing|closing)\b"),
            (
                1.8,
                r"\b(?:never (?:again|(?:buying|ordering|using|flying|shopping) (?:from|with)? ?\w* ?again)|last (?:month|time|order) (?:with|from|i)|goodbye|bye bye|farewell|the competition)\b",
            ),
            (1.6, r"\bcancel\w*\b.{0,30}\b(?:subscription|membership|account|contract|plan|service)\b"),
            (1.6, r"\b(?:stop|end|turn off|disable) (?:the |my )?(?:subscription|membership|auto.?renew\w*)\b"),
            (1.6, r"\bif (?:this|it|you|that)\b.{0,40}\b(?:i'?ll|i will|i am|i'?m) (?:switch|leav|cancel|go)\w*"),
            (
                2.0,
                r"\b(?:not renewing|won'?t (?:be )?renew\w*|cancell?ed (?:after|my|it)|done with \w+|taking my \w+ elsewhere|(?:going|moving|take|taking) (?:my \w+ )?elsewhere|deleted (?:the|your) app|removed my card|found (?:the same|a better) \w+ elsewhere)\b",
            ),
        ],
        "purchase_intent": [
            (2.2, r"\bhow much (?:is|are|does|for|do|would)\b"),
            (
                2.0,
                r"\b(?:want|wanna|would like|i'?d like|planning|looking|ready|trying|going|thinking of|interested in) (?:to )?(?:buy|buying|order|ordering|purchase|get|upgrade|upgrading|subscribe|book|booking|pre-?order|sign up|going from)\b",
            ),
            (
                2.0,
                r"\b(?:where|how) (?:can|do|could) (?:i|we) (?:buy|order|purchase|get one|sign up|subscribe|book|upgrade|pre-?order)\b",
            ),
            (
                1.8,
                r"\b(?:price|prices|pricing|quote|cost|rates?) (?:for|of|on)\b|\bsend (?:me|us) (?:a )?(?:quote|price|pricing|offer)\b",
            ),
            (
                1.8,
                r"\b(?:take my money|shut up and take|sign me up|i need (?:this|one|it|the)|i'?ll take (?:it|one|two)|i'?d buy|i would buy|ready to (?:order|buy|sign up)|add(?:ed)? to (?:my )?cart|link please)\b",
            ),
            (
                1.4,
                r"\b(?:in stock|available in|back in stock|pre-?order|bulk order|discount (?:code|if)|promo code|for my (?:team|office|company|clinic)|looking at|upgrade|upgrading|catering|book a table)\b",
            ),
            (1.2, r"\b(?:buy|buying|purchase|order (?:a|two|three|\d+))\b"),
            (1.0, r"\b(?:price|pricing|quote)\b"),
            (
                1.5,
                r"\b(?:i'?d like one|i would like (?:one|two|to order|to book)|want to stock up|need (?:a|an|\d+) \w+ (?:from|for)|can i (?:order|book|reserve|preorder|pre-order)|do you sell|group discount|best rate|what would it cost|go live|tickets? for)\b",
            ),
        ],
        "question": [
            (
                1.0,
                r"^(?:@\w+\s+)*(?:hi,? |hello,? |hey,? )?(?:how|what|when|where|which|who|why|is|are|does|do|can|could|will|would|should|any|anyone|is there|are there)\b",
            ),
            (
                0.8,
                r"\b(?:does anyone know|do you (?:have|ship|deliver|offer|accept|open|know)|is it possible|can you tell|what are your|quick question|wondering|i was wondering)\b",
            ),
        ],
        "complaint": [
            (
                1.6,
                r"\b(?:still (?:not|no|nothing|waiting|hasn'?t|haven'?t|broken|down)|never (?:arrived|came|showed|received|got|ordered|asked)|not (?:working|arrived|received|delivered|happy|acceptable|ok))\b",
            ),
            (
                1.4,
                r"\b(?:doesn'?t|don'?t|won'?t|isn'?t|can'?t|didn'?t|wasn'?t|hasn'?t|haven'?t) (?:work|working|arrive|arrived|load|connect|respond|answer|get|receive|fix)",
            ),
            (
                1.4,
                r"\b(?:broken|damaged|defective|faulty|smashed|cracked|missing|wrong (?:item|size|order|color|colour|product)|expired|spoiled|cold (?:food|fries|pizza)|stale|raw|leaking|shrank|ripped|lost my|losing my|wiped|stuck)\b",
            ),
            (
                1.4,
                r"\b(?:worst|terrible|awful|horrible|disgust\w*|disgrace\w*|ridiculous|unacceptable|pathetic|useless|joke|shame|appalling|outrage\w*|furious|fed up|sick of|tired of|thanks for nothing|i expect better)\b",
            ),
            (
                1.2,
                r"\b(?:refund|charged (?:twice|me|double|again)|charging me|overcharg\w*|double.?charg\w*|scammed|ripped off|rip.?off|hidden fee\w*|paying (?:full price )?for nothing)\b",
            ),
            (
                1.2,
                r"\b(?:delay\w*|late|hours? (?:on hold|waiting|late)|days? (?:late|waiting)|on hold|no one|nobody|no response|no reply|ignored|rude|outage|no signal|down again|keeps? (?:crashing|dropping|failing|sending)|crash\w*|for \d+ (?:minutes|hours|days))\b",
            ),
            (
                1.0,
                r"\b(?:disappoint\w*|frustrat\w*|annoy\w*|complain\w*|problem|issue|error|fix (?:this|it)|hello\?\?|i need a human)\b",
            ),
        ],
        "praise": [
            (1.6, r"\b(?:thank\w*|thx|ty so much|kudos|shout.?out|hats off|well done|great job|good job|nice job)\b"),
            (
                1.4,
                r"\b(?:love|loved|loving|amazing|awesome|fantastic|excellent|brilliant|outstanding|superb|wonderful|impressed|perfect\w*|best|great|lifesaver|legend\w*|blown away|5 stars|five stars|made (?:my|our) (?:whole )?day|heroes?|still going strong)\b",
            ),
            (0.8, r"\b(?:recommend\w*|happy|pleased|smooth|quick|fast|friendly|helpful)\b"),
        ],
        "spam": [
            (
                1.6,
                r"\b(?:earn|make|made) (?:\$|money|cash|\d+|\w+ my money)|\b(?:passive income|work from home|side hustle|get rich|financial freedom|guaranteed (?:profit|returns|income))\b",
            ),
            (
                1.6,
                r"\b(?:account (?:has been |will be |is )?(?:suspended|locked|blocked)|verify your (?:identity|account|payment|details)|confirm your (?:details|password))\b",
            ),
            (
                1.4,
                r"\b(?:dm me|message (?:me|us)|inbox me|click (?:the |my )?link|link in (?:my )?bio|check (?:out )?my (?:profile|page|bio|shop)|follow (?:me|back|for follow)|free (?:followers|likes|iphone|gift|giveaway|money)|we sell|tag \d+ friends|like,? share)\b",
            ),
            (
                1.0,
                r"\b(?:giveaway|promo|investment|invest|trading|signals|lottery|winners?|win a|claim your|congratulations you|exclusive content)\b",
            ),
        ],
        "other": [
            (1.8, r"\b(?:who else|anyone else)\b"),
        ],
    },
    "pt": {
        "cancel_intent": [
            (
                2.4,
                r"\b(?:quero|vou|preciso|gostaria de|como (?:faco|faz|eu) (?:para|pra)?|ajuda (?:para|pra)) ?(?:cancelar|encerrar|rescindir)",
            ),
            (
                2.2,
                r"\bcancel(?:ar|o|a|em|e|amento) (?:o|a|meu|minha|do|da|essa|esse|esta|este|tudo|pedido)\b(?! (?:voo|pedido foi))",
            ),
            (
                2.2,
                r"\b(?:descadastr\w*|portabilidade|rescindir|rescisao|encerr\w* (?:a |minha |o )?(?:conta|contrato|assinatura|plano))\b",
            ),
            (2.2, r"\b(?:vou|to indo|estou indo|vou me) (?:mudar|trocar|migrar|passar) (?:pra|para|de)\b"),
            (
                2.2,
                r"\b(?:excluam|exclua|apaguem|apague|deletem|removam) (?:meu|minha|meus|minhas|o meu|a minha)\b|\b(?:parem|pare) de (?:me )?(?:mandar|enviar|ligar)\b|\bsair dessa lista\b",
            ),
            (
                2.0,
                r"\b(?:trocar de (?:operadora|banco|plano|empresa)|mudar de (?:operadora|banco|empresa)|sair d[aoe]|saindo d[aoe]|desisto|desistir|concorrencia|cancelei)\b",
            ),
            (1.8, r"\b(?:nunca mais (?:compro|volto|uso|peco)|ultima vez que|adeus|tchau)\b"),
            (
                2.0,
                r"\b(?:encerrei|cancelamento|anular a (?:minha )?(?:inscricao|assinatura|matricula)|tranc\w* a matricula|(?:levo|levar|vou levar) (?:meu|minha|o|a) \w+ (?:pra|para) outr[oa]|outra operadora|outro banco|de concorrente|nao renovo|nao vou renovar)\b",
            ),
        ],
        "purchase_intent": [
            (2.2, r"\b(?:quanto (?:custa|sai|fica|e)|qual (?:o|e o) (?:valor|preco))\b"),
            (
                2.0,
                r"\b(?:quero|queria|gostaria de|pretendo|vou|to querendo|estou querendo|penso em) (?:comprar|adquirir|assinar|contratar|encomendar|pedir|reservar|fazer (?:um|o) pedido|fazer upgrade|levar)\b",
            ),
            (
                2.0,
                r"\b(?:onde|como) (?:eu )?(?:compro|posso comprar|faco (?:para|pra) (?:comprar|pedir|assinar|contratar)|faco o pedido|assino|contrato|peco)\b",
            ),
            (
                1.8,
                r"\b(?:ja compro|compraria|eu compro|quero [23] |quero (?:um|uma|esse|essa|dois|duas)|preciso dele|preciso dela|manda o link|me ve|to dentro)\b",
            ),
            (
                1.6,
                r"\b(?:orcamento|cotacao|tabela de precos?|tem (?:em )?estoque|ainda tem|tem no (?:tamanho|\d+|p|m|g)|aceita(?:m)? pix|parcela\w*|frete para|link (?:pra|para) (?:comprar|compra)|passo ai|vir pra voces|vir pra vcs)\b",
            ),
            (1.4, r"\b(?:interess(?:e|ad[oa])|reserv\w*|encomend\w*|upgrade)\b"),
            (1.0, r"\b(?:comprar|preco|valor)\b"),
            (
                1.5,
                r"\b(?:quero (?:fechar|repetir|aderir)|gostava de aderir|aderir ao|pre-?venda|ja tem no site|preciso desse|preciso dessa|tem desconto pra|bora fazer o plano|ainda vale o cupom|reservar|tem vaga)\b",
            ),
        ],
        "question": [
            (
                1.0,
                r"^(?:@\w+\s+)*(?:oi,? |ola,? |bom dia,? |boa tarde,? |boa noite,? |gente,? )?(?:como|qual|quais|quando|onde|quem|por que|porque|pq|voces|vcs|tem|e possivel|alguem|sera que|pode|posso|da pra)\b",
            ),
            (
                0.8,
                r"\b(?:alguem sabe|gostaria de saber|queria saber|uma duvida|tenho uma duvida|duvida|e possivel|tem como|voces (?:tem|aceitam|entregam|abrem|fazem|vendem))\b",
            ),
        ],
        "complaint": [
            (
                1.6,
                r"\b(?:ainda nao|ate agora nada|nada ainda|nao (?:chegou|funciona|abre|recebi|resolve\w*|consigo|responde\w*|atende\w*|entregaram|veio|aceito)|nunca chegou|nem (?:mandou|avisou|respondeu))\b",
            ),
            (
                1.4,
                r"\b(?:quebrad\w*|defeito|danificad\w*|veio errad\w*|errad[oa]|faltando|estragad\w*|vencid\w*|frio|vazando|revirad\w*|aberta|desligaram)\b",
            ),
            (
                1.4,
                r"\b(?:absurdo|pessim\w*|horrivel|vergonha|descaso|lixo|palhacada|ridicul\w*|inaceitavel|revoltad\w*|decepcion\w*|cansad[oa] de|desrespeito|obrigad[oa] por nada)\b",
            ),
            (
                1.2,
                r"\b(?:cobranca indevida|cobr\w* (?:duas vezes|em dobro|a mais|o frete duas)|cobraram|me cobrou|estorno|reembolso|procon|reclame aqui|golpe|o triplo|o dobro)\b",
            ),
            (
                1.2,
                r"\b(?:atras(?:o|ad[oa]|ou)|demora\w*|ninguem (?:responde|atende|resolve|respondeu)|cade|sem (?:sinal|internet|luz|resposta|retorno)|caiu|fora do ar|na fila|de novo|mudou meu)\b",
            ),
            (1.0, r"\b(?:reclam\w*|problema|erro|resolvam|absurd\w*|podem verificar)\b"),
        ],
        "praise": [
            (1.6, r"\b(?:obrigad[oa]|valeu|parabens|muito bom|muito boa)\b"),
            (
                1.4,
                r"\b(?:amei|adorei|amo|otim[oa]|excelente|perfeit[oa]|maravilh\w*|incrivel|sensacional|top|show|melhor|nota (?:10|mil)|impecavel|surpreendeu|sao demais|voando|quentinh[oa])\b",
            ),
            (0.8, r"\b(?:recomendo|rapid[oa]|atencios[oa]|feliz|satisfeit[oa]|capricho|finalmente)\b"),
        ],
        "spam": [
            (
                1.6,
                r"\b(?:ganhe|ganhar|fature|faturar|renda extra|dinheiro facil|trabalhe de casa|lucro garantido|independencia financeira|restituicao|bonus de)\b",
            ),
            (
                1.4,
                r"\b(?:clique|acesse|chama no (?:pv|direct|privado)|me chama|link (?:na bio|no perfil)|confira meu perfil|vem conhecer|minha loja|siga (?:meu|@|a pagina)|sigam|sigo de volta|seguidores gratis|sorteio|promocao imperdivel)\b",
            ),
            (1.0, r"\b(?:investimento|aposta\w*|sorte|premio|pix gratis|plataforma nova)\b"),
        ],
        "other": [
            (1.8, r"\b(?:alguem mais|quem mais)\b"),
        ],
    },
    "es": {
        "cancel_intent": [
            (
                2.4,
                r"\b(?:quiero|voy a|necesito|quisiera|como (?:puedo|hago para)|ayuda para) (?:cancelar|anular|darme de baja|dar de baja|cerrar)",
            ),
            (
                2.2,
                r"\b(?:dar(?:me)? de baja|me doy de baja|baja (?:del|de la|de mi)|cancel(?:ar|en|ad|o) (?:mi|el|la|los|mis|pedido))\b",
            ),
            (2.2, r"\b(?:portabilidad|rescindir|cerr(?:ar|ad|en) (?:mi|la|las)? ?cuentas?|cancelacion de (?:mi|la))\b"),
            (2.2, r"\bme (?:cambio|paso|voy|largo|mudo|llevo (?:la nomina|mi dinero|mis ahorros)) (?:a|con|de)\b"),
            (
                2.2,
                r"\b(?:borr(?:en|ad|adme)|elimin(?:en|ad)|supriman) (?:mi|mis|de)\b|\b(?:dejad|dejen) de (?:mandarme|enviarme|llamarme)\b",
            ),
            (1.8, r"\b(?:nunca mas|no vuelvo|jamas vuelvo|ultima vez que|adios|hasta nunca|la competencia)\b"),
            (1.6, r"\bcancel\w*\b.{0,30}\b(?:suscripcion|contrato|cuenta|plan|membresia|servicio)\b"),
            (
                2.0,
                r"\b(?:cancel(?:en|ad) mi|me voy a otr[oa]|otra compania|otro banco|no renuevo|no voy a renovar|me he dado de baja|di de baja)\b",
            ),
        ],
        "purchase_intent": [
            (2.2, r"\b(?:cuanto (?:cuesta|vale|sale|es|cobran)|que precio|cual es el precio|precio de)\b"),
            (
                2.0,
                r"\b(?:quiero|quisiera|me gustaria|pienso|voy a|estoy pensando en) (?:comprar|adquirir|contratar|pedir|hacer (?:un|el) pedido|reservar|suscribirme|pillar|pasarme)\b",
            ),
            (
                2.0,
                r"\b(?:donde|como) (?:puedo )?(?:comprar|compro|pido|hago (?:el|un) pedido|hago para pedir|contrato|encargo)\b",
            ),
            (
                1.8,
                r"\b(?:lo quiero|la quiero|quiero (?:ese|esa|este|esta|uno|una)|me lo llevo|lo compraria|lo contrato|toma mi dinero|me apunto|tienen que ser mias?)\b",
            ),
            (
                1.6,
                r"\b(?:presupuesto|cotizacion|tienen (?:stock|existencias)|queda stock|en talla|lo teneis en|a meses sin intereses|cuotas|encargar|a la venta)\b",
            ),
            (1.4, r"\b(?:me interesa\w*|interesad[oa]|reservar|pasar del plan)\b"),
            (1.0, r"\b(?:comprar|precio|tarifa)\b"),
            (
                1.5,
                r"\b(?:las quiero|los quiero|como (?:las|los|lo|la) pido|me reservais|me reservan|hac[ei]i?s pedidos|suscripcion mensual|donde se reserva|paso manana a comprar\w*|meses sin intereses|renuevo el bono|cual me llevo)\b",
            ),
        ],
        "question": [
            (
                1.0,
                r"^(?:@\w+\s+)*(?:¿\s*)?(?:hola,? |holaa,? |buenas,? |buenos dias,? )?(?:como|cual|cuales|cuando|donde|quien|por que|tienen|hay|se puede|puedo|alguien|es posible|sabeis|saben)\b",
            ),
            (0.8, r"\b(?:alguien sabe|quisiera saber|una duda|tengo una duda|es posible|hacen|aceptan)\b"),
        ],
        "complaint": [
            (
                1.6,
                r"\b(?:todavia no|aun no|sigo esperando|sigo sin|no (?:ha llegado|llega|llego|funciona|me (?:han|ha) (?:llegado|devuelto|contestado|respondido))|nunca (?:llego|pedi))\b",
            ),
            (
                1.4,
                r"\b(?:rot[oa]|se rompio|defectuos\w*|danad[oa]|equivocad[oa]|falta\w*|caducad[oa]|fri[oa]|revuelto|se cierra sola|tarda (?:un|mucho))\b",
            ),
            (
                1.4,
                r"\b(?:fatal|pesim\w*|horrible|verguenza|inaceptable|indignad\w*|harto|harta|una estafa|ridicul\w*|lamentable|decepcion\w*|desastre|cutre|vaya tela|gracias por nada|me tratais asi)\b",
            ),
            (
                1.2,
                r"\b(?:me cobraron|cobro (?:dos veces|de mas)|cobrado (?:dos veces|de mas)|un cargo|reembolso|devolucion|reclamacion|consumo|subirme)\b",
            ),
            (
                1.2,
                r"\b(?:retras\w*|demora\w*|nadie (?:responde|contesta|atiende|me lee)|sin (?:servicio|internet|luz|respuesta|senal)|caid[oa]|otra vez)\b",
            ),
            (1.0, r"\b(?:queja|reclam\w*|problema|error|solucionen|arreglen|atencion al cliente)\b"),
        ],
        "praise": [
            (1.6, r"\b(?:gracias|felicidades|enhorabuena|muy bien|bien hecho)\b"),
            (
                1.4,
                r"\b(?:encant\w*|genial|excelente|perfect[oa]|increible|maravill\w*|lo mejor|el mejor|la mejor|de 10|crack|buenisim[oa]|espectacular|top|heroes|calentito|buen servicio)\b",
            ),
            (0.8, r"\b(?:recomiendo|rapid[oa]|amable\w*|feliz|satisfech[oa]|antes de lo)\b"),
        ],
        "spam": [
            (
                1.6,
                r"\b(?:gana|ganar|dinero facil|ingresos (?:extra|pasivos)|trabaja desde casa|libertad financiera|ha sido bloqueada|desbloque\w*|verifique)\b",
            ),
            (
                1.4,
                r"\b(?:haz clic|pincha|escribeme|link en (?:mi )?(?:bio|perfil)|enlace en (?:mi )?bio|sigueme|seguirnos|mencionar a|seguidores gratis|sorteo\w*|sorteamos|por encargo|hago \w+ personalizad\w*)\b",
            ),
            (1.0, r"\b(?:inversion|apuesta\w*|premio|ganador)\b"),
        ],
        "other": [
            (1.8, r"\b(?:alguien mas|quien mas)\b"),
        ],
    },
    "it": {
        "cancel_intent": [
            (
                2.4,
                r"\b(?:voglio|vorrei|devo|come (?:posso|faccio a|mi)) (?:disdire|annullare|recedere|cancellar\w*|chiudere|disiscriv\w*)",
            ),
            (
                2.2,
                r"\b(?:disdett\w*|disdico|recesso|recedo|portabilita|chiudere (?:il )?(?:mio )?(?:conto|contratto|abbonamento)|disiscriv\w*)\b",
            ),
            (2.2, r"\b(?:passo|passero|cambio (?:operatore|gestore|fornitore|banca)|me ne vado) (?:a|ad|con|da)?\b"),
            (
                2.2,
                r"\b(?:eliminate|cancellate|rimuovete) (?:il mio|la mia|i miei|le mie)\b|\b(?:smettete|smettetela) di\b",
            ),
            (1.8, r"\b(?:mai piu|addio|ultima volta che|ultimo ordine|basta con voi|la concorrenza)\b"),
            (1.6, r"\b(?:annull|cancell)\w*\b.{0,30}\b(?:abbonamento|contratto|account|iscrizione|piano)\b"),
            (
                2.0,
                r"\b(?:codice di migrazione|chiuso il conto|cambio (?:assicurazione|operatore|gestore|fornitore|banca)|non rinnovo|disdico|ho disdetto)\b",
            ),
        ],
        "purchase_intent": [
            (2.2, r"\b(?:quanto (?:costa|costano|viene)|che prezzo|qual e il prezzo)\b"),
            (
                2.0,
                r"\b(?:voglio|vorrei|penso di|sto pensando di|devo) (?:comprare|acquistare|ordinare|prenotare|abbonarmi|attivare|passare)\b",
            ),
            (2.0, r"\b(?:dove|come) (?:posso )?(?:comprare|acquistare|ordinare|prenotare|passo al)\b"),
            (1.8, r"\b(?:lo voglio|la voglio|lo prendo|lo ordino|mi servono|mi serve|mi iscrivo|ci servirebbero)\b"),
            (
                1.6,
                r"\b(?:preventivo|disponibil\w*|avete (?:la|il) taglia|c'e la \d+|a rate|in offerta|catering|biglietti)\b",
            ),
            (1.4, r"\b(?:sono interessat[oa]|mi interessa|piano \w+|promo)\b"),
            (1.0, r"\b(?:comprare|acquist\w*|prezzo|prezzi)\b"),
            (
                1.5,
                r"\b(?:prenoterei|prenoto|ci iscriviamo|preordine|me ne servirebbe|su ordinazione|come faccio a ordinare|ci sono ancora (?:posti|doppie|camere|biglietti))\b",
            ),
        ],
        "question": [
            (
                1.0,
                r"^(?:@\w+\s+)*(?:ciao,? |buongiorno,? |salve,? )?(?:come|quando|dove|quale|quali|chi|perche|avete|si puo|posso|qualcuno|e possibile|c'e|quanto ci)\b",
            ),
            (0.8, r"\b(?:qualcuno sa|vorrei sapere|una domanda|domanda|e possibile|si puo|fate|accettate|spedite)\b"),
        ],
        "complaint": [
            (
                1.6,
                r"\b(?:ancora (?:non|niente|nessun\w*)|non (?:e arrivat\w*|funziona|sincronizz\w*|prende|mi (?:avete|hanno)|ho ricevuto|risponde\w*)|mai arrivat\w*|mai richiest\w*)\b",
            ),
            (
                1.4,
                r"\b(?:rott[oa]|in frantumi|difettos\w*|danneggiat\w*|sbagliat\w*|mancant\w*|scadut\w*|fredd[oa]|bruciat[oa]|crud[oa]|si staccano|cade ogni)\b",
            ),
            (
                1.4,
                r"\b(?:pessim\w*|vergogn\w*|schifo|inaccettabile|assurd\w*|ridicol\w*|indecente|deluso|delusa|disastro|scandal\w*|stufo|stufa|grazie per niente|peccato|provate voi)\b",
            ),
            (1.2, r"\b(?:addebit\w*|fatturato|conguaglio|rimborso|truffa|doppio addebito)\b"),
            (
                1.2,
                r"\b(?:ritard\w*|nessuno (?:risponde|mi risponde)|senza (?:linea|connessione|internet|risposta)|disservizio|in attesa da|manutenzione|da una settimana)\b",
            ),
            (1.0, r"\b(?:reclamo|problema|errore|risolvete|sistemate)\b"),
        ],
        "praise": [
            (1.6, r"\b(?:grazie|complimenti|bravissim\w*|bravi)\b"),
            (
                1.4,
                r"\b(?:ottim\w*|eccellent\w*|perfett\w*|fantastic\w*|il migliore|la migliore|stupend\w*|adoro|super|top|meraviglios\w*|impeccabile|bellissim\w*|gesto|eroi)\b",
            ),
            (0.8, r"\b(?:consiglio|veloc\w*|gentil\w*|felice|soddisfatt\w*|risolto)\b"),
        ],
        "spam": [
            (
                1.6,
                r"\b(?:guadagna\w*|soldi facili|lavora da casa|reddito passivo|liberta finanziaria|e stato sospeso|verifichi)\b",
            ),
            (
                1.4,
                r"\b(?:clicca|scrivimi|link in bio|seguimi|segui la pagina|tagga|follower (?:gratis|veri)|concorso|giveaway|regaliamo)\b",
            ),
            (1.0, r"\b(?:investimento|scommess\w*|premio|vincitore|pacchetti)\b"),
        ],
        "other": [
            (1.8, r"\b(?:qualcun altro|chi altro)\b"),
        ],
    },
    "cs": {
        "cancel_intent": [
            (
                2.4,
                r"\b(?:chci|chtel\w* bych|jak|potrebuju|potrebuji) (?:si )?(?:zrusit|vypovedet|ukoncit|odhlasit|zrusil)",
            ),
            (
                2.2,
                r"\b(?:zrus\w*|vypoved\w*|vypovidam|ukonc\w*) (?:smlouv\w*|predplatne|ucet|tarif|sluzb\w*|clenstvi|objednavk\w*)\b",
            ),
            (
                2.2,
                r"\b(?:prechazim|prejdu|odchazim|jdu|jedu) (?:k|ke|do|jinam|pres)\b|\bmenim (?:dodavatele|operatora|banku)\b",
            ),
            (
                2.2,
                r"\b(?:smazali|smazat|smazte|vymazte) (?:muj|moje|me|mi)\b|\b(?:odhlasuju|odhlasuji|odhlaste)\b|\bprestante (?:mi )?(?:posilat|volat)\b",
            ),
            (2.0, r"\b(?:odhlasit se|zruseni (?:smlouvy|uctu|predplatneho)|prenos cisla|konkurenc\w*)\b"),
            (1.8, r"\b(?:uz nikdy|uz nic neobjednam|naposledy|sbohem|koncim s vami|konec s vami)\b"),
            (
                2.0,
                r"\b(?:zruste|zrusim|vyradte me|odstupuj\w* od smlouvy|zrusil\w* jsem|prevedl\w* (?:k|ke|do)|jsem odesel|jsem odesla)\b",
            ),
        ],
        "purchase_intent": [
            (2.2, r"\b(?:kolik (?:stoji|to stoji|by stal\w*|stoji)|jaka je cena|za kolik)\b"),
            (
                2.0,
                r"\b(?:chci|chtel\w* bych|chteli bychom|planuju|planuji|rad\w* bych) (?:si )?(?:koupit|objednat|poridit|predplatit|rezervovat|zakoupit|prejit na)\b",
            ),
            (2.0, r"\b(?:kde|jak) (?:se da |si |muzu |mohu )?(?:koupit|objednat|zakoupit|poridit)\b"),
            (1.8, r"\b(?:si objednam|si koupim|beru to|beru|mam zajem|zajem o|poslat nabidku|chteli bychom)\b"),
            (1.6, r"\b(?:cenov\w* nabidk\w*|cenik|skladem|na sklade|na splatky|placenou verzi|permanentk\w*)\b"),
            (1.0, r"\b(?:koupit|cena|ceny|objednat)\b"),
            (
                1.5,
                r"\b(?:chci (?:si )?(?:k vam prejit|zarezervovat|ji|ho|je|tu|ty)|chtel\w* bych nabidku|poslete mi kalkulaci|jdu si pro|predprodej|klidne ho sjednam|volna? mista|da se objednat|jak si predplatim|jak se u vas objednava)\b",
            ),
        ],
        "question": [
            (
                1.0,
                r"^(?:@\w+\s+)*(?:dobry den,? |ahoj,? )?(?:jak|kdy|kde|ktery|ktera|ktere|kdo|proc|mate|ma|da se|lze|muzu|mohu|je mozne|nevite|funguje|kolik)\b",
            ),
            (0.8, r"\b(?:nevite|dotaz|otazka|prosim o info\w*|chtel\w* bych se zeptat|da se|je mozne)\b"),
        ],
        "complaint": [
            (
                1.6,
                r"\b(?:stale (?:ne|nic)\w*|porad (?:ne|nic)\w*|(?:jeste|furt) (?:nic|nedorazil\w*|neprisl\w*)|nedorazil\w*|nefunguj\w*|nejede|neprisl\w*|nedosl\w*|nikdy (?:nedorazil\w*|jsem neposlal\w*|jsem neobjednal\w*))\b",
            ),
            (
                1.4,
                r"\b(?:rozbit\w*|vadn\w*|poskozen\w*|spatn\w* (?:zbozi|velikost|objednavk\w*)|misto \w+ mi prisl\w*|chybi|chybel\w*|prosl\w*|studen\w*|zmolky|vzhuru nohama|spadne)\b",
            ),
            (
                1.4,
                r"\b(?:otres\w*|hrozn\w*|katastrof\w*|nepripustn\w*|skandal\w*|ostuda|tragedie|zklam\w*|nehorazn\w*|des\b|hruza|vtip|za co (?:vlastne )?platim)\b",
            ),
            (1.2, r"\b(?:reklamac\w*|strhl\w*|dvakrat|vraceni penez|vratte (?:mi )?penize|podvod\w*|premiove sms)\b"),
            (1.2, r"\b(?:zpozd\w*|nikdo (?:nic )?(?:neodpovida|nereaguje|nebere|nerekne)|vypad\w*|nejde|cekam)\b"),
            (1.0, r"\b(?:stiznost|problem|chyba|resit|vyreste)\b"),
        ],
        "praise": [
            (1.6, r"\b(?:dekuj\w*|diky|dik|pochvala)\b"),
            (
                1.4,
                r"\b(?:super|skvel\w*|vyborn\w*|perfektn\w*|paradn\w*|uzasn\w*|nejlepsi|bomba|spickov\w*|palec nahoru|top|jako nov\w*|hrdin\w*)\b",
            ),
            (0.8, r"\b(?:doporucuj\w*|spokojen\w*|rychl\w*|ochotn\w*|mil\w*|jeste horky)\b"),
        ],
        "spam": [
            (
                1.6,
                r"\b(?:vydelej\w*|vydelek|vydelat|snadne penize|prace z domu|prace z domova|pasivni prijem|brigadnik\w*|doplaceni|zaplatte zde)\b",
            ),
            (
                1.4,
                r"\b(?:klikni|odkaz v (?:bio|profilu)|napis mi|pis dm|mrkni (?:i )?na (?:muj|moje)|sleduj\w*|soutez\w*|prodam \d)\b",
            ),
            (1.0, r"\b(?:investic\w*|sazk\w*|vyhr\w*|zdarma)\b"),
        ],
        "other": [
            (1.8, r"\b(?:kdo dalsi|kdo jeste)\b"),
        ],
    },
    "pl": {
        "cancel_intent": [
            (
                2.4,
                r"\b(?:chce|chcialbym|chcialabym|jak|musze|prosze o) (?:anulowac|zrezygnowac|wypowiedziec|rozwiazac|zamknac|usunac|anulowanie|rezygnacj\w*|usuniecie)",
            ),
            (
                2.2,
                r"\b(?:rezygn\w*|wypowiedzeni\w*|wypowiadam|rozwiaz\w* umow\w*|zamknac konto|usunac konto|anuluj\w* (?:subskrypcj\w*|abonament\w*|umow\w*|konto|zamowienie))\b",
            ),
            (
                2.2,
                r"\b(?:przechodze|przejde|odchodze|przenosze (?:numer|sie)) (?:do|na)?\b|\bzmieniam (?:sprzedawce|operatora|bank|dostawce)\b",
            ),
            (
                2.2,
                r"\b(?:usun\w*|usuniecie) (?:moje|mojego|moich|mnie)\b|\b(?:wypisuje sie|wypisac sie)\b|\bprzestancie (?:mi )?(?:wysylac|dzwonic)\b",
            ),
            (1.8, r"\b(?:nigdy wiecej|ostatni raz|zegnam|koniec z wami|konkurencj\w*)\b"),
            (1.6, r"\banul\w*\b.{0,30}\b(?:subskrypcj\w*|abonament\w*|umow\w*|konto|plan)\b"),
            (
                2.0,
                r"\b(?:kasuj\w* konto|nie dzwoncie|anulowac|odstepuj\w* od umowy|rezygnuj\w*|nie przedluzam|wypowiedzialam|wypowiedzialem)\b",
            ),
        ],
        "purchase_intent": [
            (2.2, r"\b(?:ile (?:kosztuje|kosztuja|to kosztuje|bedzie kosztowac|wyjdzie)|jaka (?:jest )?cena|za ile)\b"),
            (
                2.0,
                r"\b(?:chce|chcialbym|chcialabym|planuje|zamierzam|mysle o) (?:kupic|zamowic|kupnie|zakupie|wykupic|zarezerwowac|przejsc na|przejsciu|plan)\b",
            ),
            (2.0, r"\b(?:gdzie|jak) (?:moge |mozna )?(?:kupic|zamowic|nabyc|wykupic|go zamowic)\b"),
            (1.8, r"\b(?:biore|kupie|zamowie|chetnie przejdziemy|wezme)\b"),
            (1.6, r"\b(?:wycen\w*|cennik|dostepn\w*|na raty|w rozmiarze|catering|karnet\w*)\b"),
            (1.4, r"\b(?:jestem zainteresowan\w*|zainteresowan\w*|promocj\w*)\b"),
            (1.0, r"\b(?:kupic|cena|ceny|zamowic)\b"),
            (
                1.5,
                r"\b(?:rezerwuje|zarezerwuj\w*|interesuje nas|potrzebuje \w+|ile by to wyszlo|sa jeszcze miejsca|jest jeszcze bilet|chce przejsc)\b",
            ),
        ],
        "question": [
            (
                1.0,
                r"^(?:@\w+\s+)*(?:dzien dobry,? |czesc,? |hej,? )?(?:jak|kiedy|gdzie|ktory|ktora|ktore|kto|dlaczego|czy|macie|mozna|da sie|jaki|jaka|jakie|w jakich|po ilu|ile)\b",
            ),
            (
                0.8,
                r"\b(?:pytanie|ktos wie|czy (?:mozna|macie|jest|sa|da sie|moge)|chcialbym zapytac|chcialabym zapytac)\b",
            ),
        ],
        "complaint": [
            (
                1.6,
                r"\b(?:nadal (?:nie|nic|brak)|wciaz (?:nie|nic|brak)|dalej (?:nie|nic)|nie (?:doszl\w*|dotarl\w*|dziala\w*|przyszl\w*|odpowiada\w*|otrzymal\w*)|nigdy nie (?:dotarl|doszl|zamawial)\w*)\b",
            ),
            (
                1.4,
                r"\b(?:uszkodz\w*|zepsu\w*|wadliw\w*|pomyl\w*|brakuje|zabraklo|przeterminowan\w*|zimn\w*|wylan\w*|zmechaci\w*|wywala sie|pusto)\b",
            ),
            (
                1.4,
                r"\b(?:skandal\w*|tragedi\w*|tragiczn\w*|fataln\w*|zenada|porazk\w*|beznadziej\w*|zlodziej\w*|masakra|koszmar\w*|rozczarowan\w*|wstyd|zenujac\w*|dzieki za nic|smacznego, naprawde)\b",
            ),
            (1.2, r"\b(?:reklamac\w*|pobral\w*|naliczyl\w*|dwa razy|podwojn\w*|zwrot pieniedzy|oddajcie|oszust\w*)\b"),
            (
                1.2,
                r"\b(?:opozni\w*|nikt nie (?:odpowiada|odbiera|reaguje)|i cisza|awari\w*|czekam|nie ma (?:zasiegu|internetu|pradu)|gdzie moja)\b",
            ),
            (1.0, r"\b(?:skarg\w*|problem\w*|blad|bledy|naprawcie)\b"),
        ],
        "praise": [
            (1.6, r"\b(?:dziekuj\w*|dzieki|brawo|gratulacj\w*|szacun)\b"),
            (
                1.4,
                r"\b(?:super|swietn\w*|wspanial\w*|rewelac\w*|najlepsz\w*|idealn\w*|mistrz\w*|genialn\w*|extra|ekstra|bomba|cudown\w*|zloto|parowal)\b",
            ),
            (0.8, r"\b(?:polecam|zadowolon\w*|szybk\w*|mil\w*|profesjonaln\w*|punktualn\w*)\b"),
        ],
        "spam": [
            (
                1.6,
                r"\b(?:zarabiaj\w*|zarobek|zarob\w*|latwe pieniadze|praca w domu|pasywny dochod|zostanie zablokowane|zaloguj sie, aby)\b",
            ),
            (
                1.4,
                r"\b(?:kliknij|link w bio|napisz do mnie|pisz dm|wpadnij do mnie|obserwuj\w*|konkurs|darmowi obserwujacy|sprzedam \d)\b",
            ),
            (1.0, r"\b(?:inwestycj\w*|zaklad\w*|wygran\w*|za darmo|na zamowienie)\b"),
        ],
        "other": [
            (1.8, r"\b(?:ktos jeszcze|kto jeszcze)\b"),
        ],
    },
}
