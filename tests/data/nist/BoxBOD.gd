# NIST StRD BoxBOD (higher difficulty): y = b1*(1-exp[-b2*x]) + e
# certified values, data and both starts: BoxBOD.json / BoxBOD.csv
param b1 = 1, b2 = 1    # NIST start 1
# NIST start 2: b1 = 100, b2 = 0.75
data x, y
model f = b1*(1 - exp(-b2*x))
loss sum((f - y)^2)
