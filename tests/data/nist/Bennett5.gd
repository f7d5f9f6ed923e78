# NIST StRD Bennett5 (higher difficulty): y = b1 * (b2+x)**(-1/b3) + e
# certified values, data and both starts: Bennett5.json / Bennett5.csv
param b1 = -2000, b2 = 50, b3 = 0.8    # NIST start 1
# NIST start 2: b1 = -1500, b2 = 45, b3 = 0.85
data x, y
model f = b1*(b2 + x)^(-1/b3)
loss sum((f - y)^2)
