// Everything of the Tern core in one include.
#pragma once

#include "tern/bytes.hpp"
#include "tern/decode_error.hpp"
#include "tern/decoder.hpp"
#include "tern/encoder.hpp"
#include "tern/errc.hpp"
#include "tern/packets.hpp"
#include "tern/properties.hpp"
#include "tern/protocol.hpp"
#include "tern/reason_code.hpp"
#include "tern/result.hpp"
#include "tern/topic.hpp"
#include "tern/utf8.hpp"
#include "tern/varint.hpp"
